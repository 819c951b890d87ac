"""Arming and start preflight: pure checks over plain values (no I/O, no clock).

Every failed check becomes a :class:`mqk_schemas.Decision` (action REJECT, a reason code and
evidence); callers get the whole list, never only the first failure.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from mqk_db._records import ReconcileCheckpoint, RunRecord
from mqk_schemas import Action, Decision, RunMode, format_decimal, format_utc

__all__ = [
    "ARM_PHRASE_TEMPLATE",
    "ArmingInputs",
    "arm_phrase",
    "evaluate_arming",
    "evaluate_begin",
]

ARM_PHRASE_TEMPLATE = "ARM LIVE {last4} {daily_loss_limit}"


@dataclass(frozen=True, slots=True)
class ArmingInputs:
    """What arming needs from the configuration, handed in as plain values.

    ``risk_limits`` maps a config path (``risk.max_drawdown``) to a limit that must be > 0;
    ``risk.daily_loss_limit`` is always checked as well. ``phrase_template`` (config
    ``arming.phrase_template``) uses exactly ``{last4}`` and ``{daily_loss_limit}``. A LIVE run
    always needs the phrase, whatever ``arming.require_phrase`` says (SPEC section 11).
    """

    config_hash: str
    account_id: str
    daily_loss_limit: Decimal
    kill_switches_enabled: bool
    reconcile_freshness: timedelta
    risk_limits: Mapping[str, Decimal] = field(default_factory=dict)
    phrase_template: str = ARM_PHRASE_TEMPLATE


def arm_phrase(
    account_id: str, daily_loss_limit: Decimal, template: str = ARM_PHRASE_TEMPLATE
) -> str:
    """The exact phrase an operator types to arm LIVE: ``ARM LIVE <last4> <daily_loss_limit>``."""
    return template.format(last4=account_id[-4:], daily_loss_limit=format_decimal(daily_loss_limit))


def evaluate_arming(
    run: RunRecord,
    inputs: ArmingInputs,
    *,
    confirmation: str | None,
    latest_reconcile: ReconcileCheckpoint | None,
    now: datetime,
) -> list[Decision]:
    """Every failed arming check of ``run`` (empty when arming may proceed).

    All modes: non-zero risk limits, config hash pinned to the run, kill switches enabled.
    LIVE adds: a CLEAN reconcile within the freshness window and the exact arm phrase.
    """
    failures = _limit_failures(inputs)
    if inputs.config_hash != run.config_hash:
        failures.append(
            _reject(
                "CONFIG_HASH_MISMATCH",
                "the configuration loaded now is not the one pinned to the run; "
                "create a new run for a changed configuration",
                pinned=run.config_hash,
                loaded=inputs.config_hash,
            )
        )
    if not inputs.kill_switches_enabled:
        failures.append(
            _reject(
                "KILL_SWITCHES_DISABLED",
                "risk.kill_switches_enabled must be true to arm",
                field="risk.kill_switches_enabled",
            )
        )
    if run.mode is RunMode.LIVE:
        failures.extend(
            _reconcile_failures(run.engine_id, latest_reconcile, inputs.reconcile_freshness, now)
        )
        failures.extend(_phrase_failures(inputs, confirmation))
    return failures


def evaluate_begin(
    run: RunRecord,
    *,
    latest_reconcile: ReconcileCheckpoint | None,
    reconcile_freshness: timedelta,
    now: datetime,
) -> list[Decision]:
    """Every failed start check: a LIVE run re-checks its engine's reconcile."""
    if run.mode is not RunMode.LIVE:
        return []
    return _reconcile_failures(run.engine_id, latest_reconcile, reconcile_freshness, now)


def _reject(reason_code: str, message: str, **evidence: object) -> Decision:
    return Decision(
        action=Action.REJECT, reason_code=reason_code, message=message, evidence=evidence
    )


def _limit_failures(inputs: ArmingInputs) -> list[Decision]:
    limits = {"risk.daily_loss_limit": inputs.daily_loss_limit, **inputs.risk_limits}
    return [
        _reject(
            "RISK_LIMIT_NOT_POSITIVE",
            f"{name} is {format_decimal(value)}; every risk limit must be > 0 to arm",
            field=name,
            value=format_decimal(value),
        )
        for name, value in sorted(limits.items())
        if not value > 0
    ]


def _reconcile_failures(
    engine_id: str,
    checkpoint: ReconcileCheckpoint | None,
    freshness: timedelta,
    now: datetime,
) -> list[Decision]:
    if checkpoint is None:
        return [
            _reject(
                "RECONCILE_MISSING",
                f"no reconcile has been recorded for engine {engine_id}",
                engine_id=engine_id,
            )
        ]
    failures: list[Decision] = []
    evidence = {
        "engine_id": engine_id,
        "checkpoint_id": checkpoint.id,
        "result": checkpoint.result,
        "captured_at": format_utc(checkpoint.captured_at),
    }
    if checkpoint.result != "CLEAN":
        failures.append(
            _reject(
                "RECONCILE_NOT_CLEAN",
                f"the latest reconcile of engine {engine_id} is {checkpoint.result}, not CLEAN",
                **evidence,
            )
        )
    age = now - checkpoint.captured_at
    if age > freshness:
        failures.append(
            _reject(
                "RECONCILE_STALE",
                f"the latest reconcile of engine {engine_id} is {int(age.total_seconds())} s "
                f"old; at most {int(freshness.total_seconds())} s is allowed",
                age_seconds=int(age.total_seconds()),
                freshness_seconds=int(freshness.total_seconds()),
                **evidence,
            )
        )
    elif age < timedelta(0):
        failures.append(
            _reject(
                "RECONCILE_FROM_FUTURE",
                f"the latest reconcile of engine {engine_id} was captured after now "
                f"({format_utc(now)}); check the clocks",
                now=format_utc(now),
                **evidence,
            )
        )
    return failures


def _phrase_failures(inputs: ArmingInputs, confirmation: str | None) -> list[Decision]:
    template = {"expected_form": inputs.phrase_template}
    if not confirmation:
        return [
            _reject(
                "ARM_PHRASE_MISSING",
                f"arming LIVE needs the confirmation phrase {inputs.phrase_template!r} "
                "(last4 of the broker account, the daily loss limit)",
                **template,
            )
        ]
    expected = arm_phrase(inputs.account_id, inputs.daily_loss_limit, inputs.phrase_template)
    if not hmac.compare_digest(confirmation.encode(), expected.encode()):
        return [
            _reject(
                "ARM_PHRASE_MISMATCH",
                f"the confirmation phrase does not match {inputs.phrase_template!r} for this "
                "run's broker account and daily loss limit",
                **template,
            )
        ]
    return []
