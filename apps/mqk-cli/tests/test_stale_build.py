"""mqk-cli refuses to run compiled modules not built from the sources beside them."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mqk_cli import main as cli_main
from mqk_cli.stale_build import MQK_PACKAGES, STAMP, stale_extensions

_SUFFIX = ".cpython-311-x86_64-linux-gnu.so"


@pytest.fixture
def fake_package(tmp_path: Path) -> Iterator[Path]:
    """An importable package ``mqk_fake`` (in ``tmp_path/src``) with two modules built as
    extensions, and their stamp, on sys.path for the test."""
    src = tmp_path / "src"
    folder = src / "mqk_fake"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    lines = ["package-hash", "2.4.1"]
    for name in ("_engine", "_ledger"):
        source = folder / f"{name}.py"
        source.write_text("LIMIT = 1\n")
        (folder / f"{name}{_SUFFIX}").write_bytes(b"\x7fELF")
        lines.append(f"{name}.py {hashlib.sha256(source.read_bytes()).hexdigest()}")
    (src / STAMP).write_text("\n".join(lines) + "\n")
    sys.path.insert(0, str(src))
    try:
        yield folder
    finally:
        sys.path.remove(str(src))


def _edit(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.py").write_text(text)


@pytest.mark.parametrize(
    ("engine", "ledger", "stale"),
    [
        ("LIMIT = 1\n", "LIMIT = 1\n", []),  # rewritten unchanged (git stash pop): not stale
        ("LIMIT = 2\n", "LIMIT = 1\n", ["mqk_fake._engine"]),
        ("LIMIT = 2\n", "", ["mqk_fake._engine", "mqk_fake._ledger"]),
    ],
)
def unit_an_extension_whose_source_changed_is_stale(
    fake_package: Path, engine: str, ledger: str, stale: list[str]
) -> None:
    _edit(fake_package, "_engine", engine)
    _edit(fake_package, "_ledger", ledger)

    assert stale_extensions(["mqk_fake", "mqk_not_installed"]) == stale


def unit_extensions_without_a_stamp_are_stale(fake_package: Path) -> None:
    (fake_package.parent / STAMP).unlink()

    assert stale_extensions(["mqk_fake"]) == ["mqk_fake._engine", "mqk_fake._ledger"]


def unit_a_module_built_but_not_in_the_stamp_is_stale(fake_package: Path) -> None:
    (fake_package / "_orders.py").write_text("X = 1\n")
    (fake_package / f"_orders{_SUFFIX}").write_bytes(b"\x7fELF")

    assert stale_extensions(["mqk_fake"]) == ["mqk_fake._orders"]


def unit_a_package_without_extensions_has_nothing_stale(tmp_path: Path) -> None:
    folder = tmp_path / "mqk_plain"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "_engine.py").write_text("X = 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert stale_extensions(["mqk_plain"]) == []
    finally:
        sys.path.remove(str(tmp_path))


def fault_the_cli_refuses_to_run_a_stale_build(
    fake_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _edit(fake_package, "_engine", "LIMIT = 2\n")
    monkeypatch.setattr(cli_main, "stale_extensions", lambda: stale_extensions(["mqk_fake"]))

    result = CliRunner().invoke(cli_main.cli, ["config", "show"])

    assert result.exit_code == 1
    assert result.output == (
        "refused: compiled modules were not built from their sources (mqk_fake._engine); run "
        "`make compile` to rebuild them, or `make clean` to run the sources\n"
    )


def contract_every_workspace_library_is_checked() -> None:
    src = Path(__file__).resolve().parents[3] / "packages"
    libraries = {p.name.replace("-", "_") for p in src.iterdir() if (p / "src").is_dir()}

    assert set(MQK_PACKAGES) == libraries


def contract_the_installed_build_is_not_stale() -> None:
    assert stale_extensions() == []
