"""Typed decisions returned by gates (integrity, risk, isolation, reconcile, gateway)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field

from mqk_schemas._base import FrozenModel
from mqk_schemas.enums import Action

__all__ = ["Decision", "most_severe"]


class Decision(FrozenModel):
    """A gate's verdict: an action, a machine-readable reason code and human evidence."""

    action: Action
    reason_code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    message: str = ""
    evidence: dict[str, Any] = Field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        """True when the action is ALLOW."""
        return self.action is Action.ALLOW

    @classmethod
    def allow(cls, reason_code: str = "OK") -> Decision:
        """An ALLOW decision."""
        return cls(action=Action.ALLOW, reason_code=reason_code)


def most_severe(decisions: Iterable[Decision]) -> Decision:
    """Return the most severe decision (the first one among equals); ALLOW when empty."""
    best: Decision | None = None
    for decision in decisions:
        if best is None or decision.action.severity > best.action.severity:
            best = decision
    return best if best is not None else Decision.allow()
