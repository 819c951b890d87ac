"""Kill-switch decisions made by the runtime itself, and the reason stored on a halted run."""

from __future__ import annotations

from mqk_db import PreflightFailed as DbPreflightFailed
from mqk_schemas import Action, Decision

__all__ = ["begin_refused", "halt_reason"]


def halt_reason(decision: Decision) -> str:
    """The reason stored on a halted run: code, message and (reconcile) the first diffs."""
    reason = f"{decision.reason_code}: {decision.message}"
    diffs = decision.evidence.get("diffs")
    if isinstance(diffs, list) and diffs:
        shown = "; ".join(str(d) for d in diffs[:3])
        more = f" (+{len(diffs) - 3} more)" if len(diffs) > 3 else ""
        reason += f" [{shown}{more}]"
    return reason


def begin_refused(exc: DbPreflightFailed) -> Decision:
    """The kill-switch decision recorded when the start preflight refuses a run."""
    codes = ", ".join(d.reason_code for d in exc.failures)
    return Decision(
        action=Action.DISARM,
        reason_code="BEGIN_REFUSED",
        message=f"start preflight failed: {codes}",
        evidence={"failures": [d.model_dump(mode="json") for d in exc.failures]},
    )
