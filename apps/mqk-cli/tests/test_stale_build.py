"""mqk-cli refuses to run compiled modules older than their sources (``make compile``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mqk_cli import main as cli_main
from mqk_cli.stale_build import stale_extensions

_SUFFIX = ".cpython-311-x86_64-linux-gnu.so"


@pytest.fixture
def fake_package(tmp_path: Path) -> Iterator[Path]:
    """An importable package ``mqk_fake`` with two modules, on sys.path for the test."""
    folder = tmp_path / "mqk_fake"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for name in ("_engine", "_ledger"):
        (folder / f"{name}.py").write_text("X = 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        yield folder
    finally:
        sys.path.remove(str(tmp_path))


def _built(folder: Path, name: str, *, seconds_after_source: int) -> None:
    extension = folder / f"{name}{_SUFFIX}"
    extension.write_bytes(b"\x7fELF")
    source_time = (folder / f"{name}.py").stat().st_mtime
    os.utime(extension, (source_time + seconds_after_source,) * 2)


@pytest.mark.parametrize(
    ("engine_after", "ledger_after", "stale"),
    [
        (10, 10, []),
        (-10, 10, ["mqk_fake._engine"]),
        (-10, -1, ["mqk_fake._engine", "mqk_fake._ledger"]),
    ],
)
def unit_an_extension_older_than_its_source_is_stale(
    fake_package: Path, engine_after: int, ledger_after: int, stale: list[str]
) -> None:
    _built(fake_package, "_engine", seconds_after_source=engine_after)
    _built(fake_package, "_ledger", seconds_after_source=ledger_after)

    assert stale_extensions(["mqk_fake", "mqk_not_installed"]) == stale


def unit_a_package_without_extensions_has_nothing_stale(fake_package: Path) -> None:
    assert stale_extensions(["mqk_fake"]) == []


def fault_the_cli_refuses_to_run_a_stale_build(
    fake_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _built(fake_package, "_engine", seconds_after_source=-10)
    monkeypatch.setattr(cli_main, "stale_extensions", lambda: stale_extensions(["mqk_fake"]))

    result = CliRunner().invoke(cli_main.cli, ["config", "show"])

    assert result.exit_code == 1
    assert result.output == (
        "refused: compiled modules are older than their sources (mqk_fake._engine); run "
        "`make compile` to rebuild them, or `make clean` to run the sources\n"
    )


def contract_the_installed_build_is_not_stale() -> None:
    assert stale_extensions() == []
