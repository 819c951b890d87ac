"""Failpoints: named places where a test makes the process kill itself (SIGKILL).

Crash safety is proven by really killing the process, not by raising: ``MQK_FAILPOINT`` set to
``NAME`` (or ``NAME:N``, the N-th time the point is reached) makes :meth:`Failpoints.hit` send
SIGKILL to the current process there. Unset, every hit is a dictionary lookup and nothing else.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping

from mqk_runtime.errors import RuntimeInputError

__all__ = ["FAILPOINTS", "FAILPOINT_ENV", "Failpoints"]

FAILPOINT_ENV = "MQK_FAILPOINT"

FAILPOINTS: tuple[str, ...] = (
    "before_outbox_commit",
    "after_outbox_commit",
    "before_broker_submit",
    "after_broker_submit",
    "after_broker_ack",
    "after_bar_journal",
    "mid_fill_apply",
    "after_fill_apply",
    "before_cycle_commit",
    "after_cycle_commit",
)
"""Every named point, in the order a cycle reaches them."""


def _sigkill(_name: str) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Failpoints:
    """Which points are armed and what happens there (default: SIGKILL this process)."""

    def __init__(
        self,
        armed: Mapping[str, int] | None = None,
        *,
        action: Callable[[str], None] = _sigkill,
    ) -> None:
        armed = dict(armed or {})
        unknown = sorted(set(armed) - set(FAILPOINTS))
        if unknown:
            raise RuntimeInputError(
                f"unknown failpoint(s) {unknown}; known: {', '.join(FAILPOINTS)}",
                {"field": FAILPOINT_ENV},
            )
        if any(n < 1 for n in armed.values()):
            raise RuntimeInputError("a failpoint count must be >= 1", {"field": FAILPOINT_ENV})
        self._armed = armed
        self._hits: dict[str, int] = {}
        self._action = action

    @classmethod
    def disabled(cls) -> Failpoints:
        """No point armed."""
        return cls()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Failpoints:
        """Parse ``MQK_FAILPOINT`` (``NAME`` or ``NAME:N``; comma-separated for several)."""
        spec = environ.get(FAILPOINT_ENV, "").strip()
        armed: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, _, count = part.partition(":")
            try:
                armed[name] = int(count) if count else 1
            except ValueError:
                raise RuntimeInputError(
                    f"{FAILPOINT_ENV}: {part!r} is not NAME or NAME:N", {"field": FAILPOINT_ENV}
                ) from None
        return cls(armed)

    @property
    def armed(self) -> dict[str, int]:
        """Armed points and the hit number each fires on."""
        return dict(self._armed)

    def hit(self, name: str) -> None:
        """Reach point ``name``; fires the action on the armed hit."""
        target = self._armed.get(name)
        if target is None:
            return
        count = self._hits.get(name, 0) + 1
        self._hits[name] = count
        if count == target:
            self._action(name)
