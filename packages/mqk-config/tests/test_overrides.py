"""Explicit overrides from ``KEY.PATH=VALUE`` assignments (the final layer)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mqk_config import ConfigValidationError, load_config, overrides_from_assignments


@pytest.mark.parametrize(
    ("assignments", "expected"),
    [
        (["risk.max_drawdown=0.05"], {"risk": {"max_drawdown": Decimal("0.05")}}),
        (["execution.seed=11"], {"execution": {"seed": 11}}),
        (["engine.shadow=true"], {"engine": {"shadow": True}}),
        (["risk.pdt.mode=off"], {"risk": {"pdt": {"mode": "off"}}}),
        (["data.calendar = XNYS "], {"data": {"calendar": "XNYS"}}),
        (
            ["execution.slippage_bps=0", "execution.spread_bps=0"],
            {"execution": {"slippage_bps": 0, "spread_bps": 0}},
        ),
        (["backtest.seed=1", "backtest.seed=2"], {"backtest": {"seed": 2}}),
        (["x.y=[1, 2.5]"], {"x": {"y": [1, Decimal("2.5")]}}),
        ([], {}),
    ],
)
def unit_assignments_become_a_nested_exact_overrides_map(
    assignments: list[str], expected: dict[str, Any]
) -> None:
    assert overrides_from_assignments(assignments) == expected


@pytest.mark.parametrize(
    ("assignment", "path"),
    [
        ("risk.max_drawdown", "risk.max_drawdown"),
        ("=1", "<empty>"),
        ("a..b=1", "a..b"),
        ("a.b=[1", "a.b"),
    ],
)
def fault_malformed_assignments_are_refused_by_key(assignment: str, path: str) -> None:
    with pytest.raises(ConfigValidationError) as info:
        overrides_from_assignments([assignment])
    assert [p.path for p in info.value.problems] == [path]
    assert info.value.problems[0].layer == "<overrides>"


def scenario_assignment_overrides_apply_last_and_change_the_hash(shipped_config: Path) -> None:
    base = load_config(shipped_config, engine="MAIN", stress=["slippage_x2"])
    no_costs = overrides_from_assignments(
        [
            f"execution.{name}=0"
            for name in (
                "spread_bps",
                "slippage_bps",
                "commission_per_share",
                "commission_bps",
                "commission_minimum",
            )
        ]
    )
    free = load_config(shipped_config, engine="MAIN", stress=["slippage_x2"], overrides=no_costs)
    assert free.execution.slippage_bps == 0
    assert free.execution.commission_minimum == 0
    assert free.layers[-1].kind == "overrides"
    assert free.config_hash != base.config_hash
