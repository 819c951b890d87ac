"""The background writer writes every chunk in order and hands its failures to the caller."""

from __future__ import annotations

import itertools
import threading
import time
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


def _no_writer_threads() -> bool:
    return not any(t.name.startswith("mqk-artifact-writer") for t in threading.enumerate())


def _numbered_parts(count: int) -> Any:
    def write(handle: Any) -> Iterator[None]:
        for i in range(count):
            handle.write(b"%d;" % i)
            yield

    return write


def unit_a_file_written_on_its_own_thread_lands_whole_beside_the_queued_ones(
    tmp_path: Path,
) -> None:
    with BackgroundWriter(pending=1) as writer:
        writer.write_file_in_thread(tmp_path / "own", _numbered_parts(300))
        writer.write_file(tmp_path / "queued", (b"%d," % i for i in range(300)))

    assert (tmp_path / "own").read_bytes() == b"".join(b"%d;" % i for i in range(300))
    assert (tmp_path / "queued").read_bytes() == b"".join(b"%d," % i for i in range(300))
    assert _no_writer_threads()


def fault_an_error_on_a_files_own_thread_is_raised_when_the_block_ends(tmp_path: Path) -> None:
    def broken(handle: Any) -> Iterator[None]:
        handle.write(b"header\n")
        yield
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"), BackgroundWriter() as writer:
        writer.write_file_in_thread(tmp_path / "own", broken)

    assert (tmp_path / "own").read_bytes() == b"header\n"
    assert _no_writer_threads()


def fault_an_error_on_a_files_own_thread_stops_the_queued_writes(tmp_path: Path) -> None:
    failed = threading.Event()

    def broken(handle: Any) -> Iterator[None]:
        failed.set()
        raise OSError("disk full")
        yield  # a generator function

    def chunks() -> Iterator[bytes]:
        failed.wait()
        while True:  # ends only when the writer raises the other thread's error
            yield b"x"

    def write_both() -> None:
        with BackgroundWriter() as writer:
            writer.write_file_in_thread(tmp_path / "own", broken)
            writer.write_file(tmp_path / "queued", chunks())

    with pytest.raises(OSError, match="disk full"):
        write_both()

    assert (tmp_path / "own").read_bytes() == b""
    assert _no_writer_threads()


def fault_an_error_in_the_block_stops_a_files_own_thread_at_its_next_part(
    tmp_path: Path,
) -> None:
    started = threading.Event()
    seen: list[int] = []
    deadline = time.monotonic() + 30.0

    def endless(handle: Any) -> Iterator[None]:
        # parts until the writer stops asking for them (or 30 s: the test then fails)
        for i in itertools.count():
            handle.write(b"%d;" % i)
            seen.append(i)
            started.set()
            if time.monotonic() > deadline:
                return
            yield

    def fail_while_it_writes() -> None:
        with BackgroundWriter() as writer:
            writer.write_file_in_thread(tmp_path / "own", endless)
            started.wait()
            raise ValueError("rendering failed")

    with pytest.raises(ValueError, match="rendering failed"):
        fail_while_it_writes()

    assert time.monotonic() < deadline
    assert (tmp_path / "own").read_bytes() == b"".join(b"%d;" % i for i in seen)
    assert _no_writer_threads()
