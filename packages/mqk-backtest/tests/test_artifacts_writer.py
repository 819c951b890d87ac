"""The background writer writes every chunk in order and hands its failures to the caller."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mqk_backtest._writer import BackgroundWriter


def unit_every_chunk_lands_in_order_in_its_own_file(tmp_path: Path) -> None:
    with BackgroundWriter(pending=1) as writer:
        writer.write_file(tmp_path / "a", (b"%d," % i for i in range(500)))
        writer.write_file(tmp_path / "b", [b"one", b"", b"two"])
        writer.write_file(tmp_path / "c", [])

    assert (tmp_path / "a").read_bytes() == b"".join(b"%d," % i for i in range(500))
    assert (tmp_path / "b").read_bytes() == b"onetwo"
    assert (tmp_path / "c").read_bytes() == b""
    assert not any(t.name == "mqk-artifact-writer" for t in threading.enumerate())


def fault_the_worker_threads_error_is_raised_in_the_caller(tmp_path: Path) -> None:
    chunks: list[Any] = [b"fine", "not bytes", b"never written"]

    def write_both() -> None:
        with BackgroundWriter() as writer:
            writer.write_file(tmp_path / "a", chunks)
            writer.write_file(tmp_path / "b", [b"after the failure"])

    with pytest.raises(TypeError):
        write_both()

    assert (tmp_path / "a").read_bytes() == b"fine"
    assert not any(t.name == "mqk-artifact-writer" for t in threading.enumerate())


def fault_an_error_while_rendering_stops_the_worker_and_is_the_one_raised(
    tmp_path: Path,
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"first"
        raise ValueError("rendering failed")

    with pytest.raises(ValueError, match="rendering failed"), BackgroundWriter() as writer:
        writer.write_file(tmp_path / "a", chunks())

    assert (tmp_path / "a").read_bytes() == b"first"
    assert not any(t.name == "mqk-artifact-writer" for t in threading.enumerate())


def fault_a_file_that_cannot_be_created_fails_in_the_caller(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), BackgroundWriter() as writer:
        writer.write_file(tmp_path / "missing" / "a", [b"x"])

    assert not (tmp_path / "missing").exists()
