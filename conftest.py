"""Shared pytest settings for every package's tests (pytest finds this file above each tests/).

Hypothesis runs without per-example deadlines or the "too slow" health check, because CI and
developers share a 2-core machine whose load varies; in CI (``CI=true``) it is also
derandomised, so a run is reproducible and never flaky.
"""

from __future__ import annotations

import os

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
