"""The mypyc-compiled hot modules (``tools/compiled.py``, ``make compile``): what is listed
exists, runs as built, and a backtest run on the compiled modules writes the same bytes as one
on their pure-Python sources (what a wheel installs)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mqk_backtest import ARTIFACT_FILES

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "config"
SAMPLE = REPO_ROOT / "examples" / "data" / "AAPL_1d.csv"
# mqk-cli's entry point, with the compiled modules imported from their sources when asked
_CLI = """
import sys
if sys.argv[1] == "pure":
    sys.path.insert(0, sys.argv[2])
    from compiled import PureSourceFinder
    sys.meta_path.insert(0, PureSourceFinder())
import mqk_backtest._columnar
print(mqk_backtest._columnar.__file__, file=sys.stderr)
from mqk_cli.main import cli
cli(sys.argv[3:], prog_name="mqk-cli")
"""


def _tools() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compiled_under_test", REPO_ROOT / "tools" / "compiled.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COMPILED = _tools()
MODULES = [
    f"{COMPILED.import_name(package)}.{module.removesuffix('.py')}"
    for package, modules in COMPILED.COMPILED.items()
    for module in modules
]
BUILT = {
    COMPILED.import_name(package) for package in COMPILED.COMPILED if COMPILED.extensions(package)
}
PURE = os.environ.get("MQK_PURE_PYTHON") == "1"
ON_CI = os.environ.get("CI", "").lower() == "true"  # where every listed module must be built
# without a C compiler a developer's run skips these; CI never does (with nothing built they
# fail there, as `make compile` does under CI=true)
needs_a_build = pytest.mark.skipif(
    not BUILT and not ON_CI,
    reason="nothing compiled here: run make compile (needs a C compiler)",
)


@pytest.mark.parametrize("name", MODULES)
def contract_every_compiled_module_is_a_source_file_of_its_package(name: str) -> None:
    package, module = name.split(".")
    source = REPO_ROOT / "packages" / package.replace("_", "-") / "src" / package / f"{module}.py"

    assert source.is_file()


@needs_a_build
@pytest.mark.parametrize("name", MODULES)
def invariant_a_listed_module_runs_compiled_exactly_when_built(name: str) -> None:
    compiled = not PURE and (ON_CI or name.split(".")[0] in BUILT)
    origin = str(importlib.import_module(name).__file__)

    assert origin.endswith(".so" if compiled else ".py")


@pytest.mark.parametrize(
    ("package", "built_from"),
    [
        ("mqk-schemas", ["mqk-schemas"]),
        ("mqk-risk", ["mqk-risk", "mqk-schemas"]),
        (
            "mqk-execution",
            ["mqk-execution", "mqk-isolation", "mqk-portfolio", "mqk-risk", "mqk-schemas"],
        ),
    ],
)
def unit_a_package_is_rebuilt_when_a_workspace_package_it_depends_on_changes(
    package: str, built_from: list[str]
) -> None:
    assert COMPILED._workspace_deps(package) == built_from


def _run(tmp: Path, mode: str) -> Path:
    out = tmp / f"run-{mode}"
    args = [
        "backtest", "run", "--engine", "MAIN", "--bars", "AAPL_1d.csv", "--param", "fast=3",
        "--param", "slow=8", "--stress", "slippage_x2", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", _CLI, mode, str(REPO_ROOT / "tools"), *args],
        cwd=tmp,
        env={**os.environ, "MQK_CONFIG_DIR": str(CONFIG_DIR), "MQK_PURE_PYTHON": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded_from = done.stderr.splitlines()[0]
    assert loaded_from.endswith(".py" if mode == "pure" else ".so")
    return out


@needs_a_build
def invariant_compiled_and_pure_python_runs_write_identical_bytes(tmp_path: Path) -> None:
    (tmp_path / "AAPL_1d.csv").write_bytes(SAMPLE.read_bytes())

    compiled, pure = _run(tmp_path, "compiled"), _run(tmp_path, "pure")

    for name in ARTIFACT_FILES:
        assert (compiled / name).read_bytes() == (pure / name).read_bytes(), name
