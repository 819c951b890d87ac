"""Shared pytest settings for every package's tests (pytest finds this file above each tests/).

Compiled modules (``tools/compiled.py``): a run refuses to start when a package's extensions
were built from other sources than the ones checked out (an edited module would otherwise be
shadowed by its old extension); with ``MQK_PURE_PYTHON=1`` the tests import the sources of
the compiled modules instead, as a wheel installs them (``make test-pure``).

Hypothesis runs without per-example deadlines or the "too slow" health check, because CI and
developers share a 2-core machine whose load varies; in CI (``CI=true``) it is also
derandomised, so a run is reproducible and never flaky.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # a package whose test environment has no hypothesis
    pass
else:
    settings.register_profile(
        "mqk",
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=os.environ.get("CI", "").lower() == "true",
    )
    settings.load_profile("mqk")


def _compiled_tools() -> ModuleType:
    """``tools/compiled.py``, loaded by path (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "mqk_tools_compiled", Path(__file__).parent / "tools" / "compiled.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_COMPILED = _compiled_tools()
if os.environ.get("MQK_PURE_PYTHON") == "1":
    sys.meta_path.insert(0, _COMPILED.PureSourceFinder())


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to test extensions that were not built from the sources checked out."""
    if os.environ.get("MQK_PURE_PYTHON") == "1":
        return
    stale = _COMPILED.stale_packages()
    if stale:
        pytest.exit(
            f"compiled modules of {', '.join(stale)} were not built from their current "
            "sources: run `make compile` (or `make clean` for pure Python)",
            returncode=2,
        )
