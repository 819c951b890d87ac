"""The workspace is laid out as SPEC section 1 says; each member declares only what it may use."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# SPEC section 1: which siblings each distribution may depend on.
ALLOWED: dict[str, set[str]] = {
    "mqk-schemas": set(),
    "mqk-config": {"mqk-schemas"},
    "mqk-integrity": {"mqk-schemas"},
    "mqk-strategy": {"mqk-schemas"},
    "mqk-portfolio": {"mqk-schemas"},
    "mqk-risk": {"mqk-schemas"},
    "mqk-isolation": {"mqk-schemas"},
    "mqk-reconcile": {"mqk-schemas"},
    "mqk-execution": {"mqk-schemas", "mqk-portfolio", "mqk-risk", "mqk-isolation"},
    "mqk-backtest": {
        "mqk-schemas",
        "mqk-config",
        "mqk-integrity",
        "mqk-strategy",
        "mqk-portfolio",
        "mqk-risk",
        "mqk-isolation",
        "mqk-execution",
    },
    "mqk-db": {"mqk-schemas"},
    "mqk-runtime": {
        "mqk-schemas",
        "mqk-config",
        "mqk-integrity",
        "mqk-strategy",
        "mqk-portfolio",
        "mqk-risk",
        "mqk-isolation",
        "mqk-reconcile",
        "mqk-execution",
        "mqk-backtest",
        "mqk-db",
    },
}
ALLOWED["mqk-cli"] = set(ALLOWED) - {"mqk-cli"}


def _member_dir(name: str) -> Path:
    return ROOT / ("apps" if name == "mqk-cli" else "packages") / name


def _pyproject(name: str) -> dict[str, object]:
    with (_member_dir(name) / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def _dep_names(deps: list[str]) -> set[str]:
    names = set()
    for dep in deps:
        name = dep
        for stop in "<>=!~;[ ":
            name = name.split(stop)[0]
        names.add(name.strip())
    return names


def unit_root_is_a_virtual_workspace_with_the_known_layout() -> None:
    for entry in (
        "pyproject.toml",
        "uv.lock",
        "packages",
        "apps",
        "tests-integration",
        "docker",
        "Makefile",
        "README.md",
        ".ci/run",
    ):
        assert (ROOT / entry).exists(), entry
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert root["tool"]["uv"]["package"] is False
    members = sorted(p.name for p in (ROOT / "packages").iterdir() if p.is_dir())
    assert members == sorted(set(ALLOWED) - {"mqk-cli"})


@pytest.mark.parametrize("name", sorted(ALLOWED))
def invariant_member_declares_only_siblings_the_layering_allows(name: str) -> None:
    project = _pyproject(name)["project"]
    assert isinstance(project, dict)
    declared = {d for d in _dep_names(project["dependencies"]) if d.startswith("mqk-")}
    assert declared <= ALLOWED[name], f"{name} declares {sorted(declared - ALLOWED[name])}"


@pytest.mark.parametrize("name", sorted(ALLOWED))
def invariant_member_is_a_typed_src_layout_package_with_its_own_version(name: str) -> None:
    module = name.replace("-", "_")
    member = _member_dir(name)
    project = _pyproject(name)["project"]
    assert isinstance(project, dict)
    assert project["version"] == "0.1.0"
    assert (member / "src" / module / "py.typed").is_file()
    assert (member / "tests").is_dir()
    init = ast.parse((member / "src" / module / "__init__.py").read_text())
    assigned = {
        target.id
        for node in init.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    assert {"__all__", "__version__"} <= assigned
    assert ast.get_docstring(init), f"{module}/__init__.py has no docstring"


@pytest.mark.parametrize("name", sorted(ALLOWED))
def invariant_source_imports_only_declared_siblings(name: str) -> None:
    module = name.replace("-", "_")
    project = _pyproject(name)["project"]
    assert isinstance(project, dict)
    declared = {d.replace("-", "_") for d in _dep_names(project["dependencies"])} | {module}
    for path in (_member_dir(name) / "src").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for imported in names:
                top = imported.split(".")[0]
                if top.startswith("mqk_"):
                    assert top in declared, f"{path.relative_to(ROOT)} imports undeclared {top}"
