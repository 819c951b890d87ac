"""Risk limits mirror config section ``risk``: exact, complete, strict, with key paths."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from mqk_risk import KillSwitch, PdtMode, RiskLimits, RiskLimitsError, load_risk_limits
from mqk_schemas import Action


def unit_config_section_loads_into_exact_limits(kit: Any) -> None:
    section = kit.risk_section(daily_loss_limit="0.02", reject_storm={"window_seconds": "300"})
    limits = load_risk_limits(section)
    assert limits.daily_loss_limit == Decimal("0.02")
    assert isinstance(limits.daily_loss_limit, Decimal)
    assert limits.reject_storm.window_seconds == 300
    assert limits.pdt.mode is PdtMode.AUTO
    assert limits.desync_action is Action.HALT_NEW


def unit_a_pydantic_config_section_is_accepted_as_is(kit: Any) -> None:
    class Section(BaseModel):
        model_config = {"extra": "allow"}

    section = Section(**kit.risk_section())
    assert load_risk_limits(section) == RiskLimits.model_validate(kit.risk_section())


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"daily_loss_limit": 0.02}, "risk.daily_loss_limit", "binary float"),
        ({"daily_loss_limit": "1.5"}, "risk.daily_loss_limit", "fraction in (0, 1]"),
        ({"max_drawdown": "0"}, "risk.max_drawdown", "must be > 0"),
        ({"max_position_quantity": "-1"}, "risk.max_position_quantity", "must be > 0"),
        ({"reject_storm": {"max_rejcts": 5}}, "risk.reject_storm.max_rejcts", "unknown key"),
        ({"reject_storm": {"window_seconds": 300.0}}, "risk.reject_storm.window_seconds", "float"),
        ({"reject_storm": {"window_seconds": "2.5"}}, "risk.reject_storm.window_seconds", "whole"),
        ({"pdt": {"mode": "on"}}, "risk.pdt.mode", "'auto' or 'off'"),
        ({"pdt": {"window_sessions": 0}}, "risk.pdt.window_sessions", "must be > 0"),
        ({"stale_data_seconds": -5}, "risk.stale_data_seconds", "must be > 0"),
        ({"desync_action": "REJECT"}, "risk.desync_action", "HALT_NEW, FLATTEN_AND_HALT, DISARM"),
    ],
)
def unit_bad_limits_are_refused_with_their_key_path(
    kit: Any, changes: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(RiskLimitsError) as caught:
        load_risk_limits(kit.risk_section(**changes))
    assert [p for p, _ in caught.value.problems] == [path]
    assert message in caught.value.problems[0][1]
    assert path in str(caught.value)


def unit_a_missing_setting_is_refused_because_limits_have_no_hidden_defaults(kit: Any) -> None:
    section = kit.risk_section()
    del section["max_leverage"]
    with pytest.raises(RiskLimitsError) as caught:
        load_risk_limits(section)
    assert caught.value.problems == (("risk.max_leverage", "Field required"),)


def unit_every_problem_is_reported_at_once(kit: Any) -> None:
    with pytest.raises(RiskLimitsError) as caught:
        load_risk_limits(kit.risk_section(max_drawdown="2", allow_short="maybe", extra=1))
    assert sorted(p for p, _ in caught.value.problems) == [
        "risk.allow_short",
        "risk.extra",
        "risk.max_drawdown",
    ]


def unit_every_switch_has_its_kill_switch_reason_code() -> None:
    assert KillSwitch.DAILY_LOSS.reason_code == "KILL_SWITCH_DAILY_LOSS"
    assert {s for s in KillSwitch if s.sticky} == {
        KillSwitch.DAILY_LOSS,
        KillSwitch.MAX_DRAWDOWN,
        KillSwitch.REJECT_STORM,
        KillSwitch.STALE_DATA,
        KillSwitch.DESYNC,
        KillSwitch.MISSING_STOP,
        KillSwitch.MANUAL,
    }
