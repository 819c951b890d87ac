"""``Reconciler``: reconcile with a per-engine monotonic snapshot guard.

Policy for snapshot timestamps, per engine:

- older than the last snapshot used: refused (``SNAPSHOT_NOT_MONOTONIC``);
- equal captured_at and the same content (same :func:`snapshot_digest`): accepted, an idempotent
  re-check, typically against internal state that moved on (after a repair);
- equal captured_at and different content: refused (``SNAPSHOT_NOT_MONOTONIC``): two different
  snapshots cannot both describe one instant, and we cannot tell which is right;
- newer: accepted.

A refusal or an input error changes nothing. The guard needs no arming state: reconcile runs
even when disarmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from mqk_reconcile._base import Frozen
from mqk_reconcile._engine import reconcile
from mqk_reconcile._result import ReconcileRefusal, ReconcileResult, not_monotonic
from mqk_reconcile._snapshot import snapshot_digest
from mqk_reconcile._state import InternalState, ReconcileConfig
from mqk_schemas import BrokerSnapshot, UtcDatetime

__all__ = ["Reconciler", "SnapshotCheckpoint"]


class SnapshotCheckpoint(Frozen):
    """The last snapshot used for an engine: its capture time and content digest.

    ``snapshot_sha256`` may be None when resuming from a record that kept only the time; then
    an equal captured_at cannot be proven identical and is refused.
    """

    captured_at: UtcDatetime
    snapshot_sha256: str | None = None


class Reconciler:
    """Runs :func:`reconcile` and refuses snapshots that go back in time, per engine."""

    def __init__(
        self,
        config: ReconcileConfig | None = None,
        *,
        checkpoints: Mapping[str, SnapshotCheckpoint] | None = None,
    ) -> None:
        self._config = config or ReconcileConfig()
        self._checkpoints: dict[str, SnapshotCheckpoint] = dict(checkpoints or {})

    @property
    def config(self) -> ReconcileConfig:
        """The diff engine's configuration."""
        return self._config

    def last_captured_at(self, engine_id: str) -> datetime | None:
        """Capture time of the last snapshot used for ``engine_id`` (None before the first)."""
        checkpoint = self._checkpoints.get(engine_id)
        return checkpoint.captured_at if checkpoint else None

    def checkpoint(self, engine_id: str) -> SnapshotCheckpoint | None:
        """The last snapshot used for ``engine_id``, to persist and resume from."""
        return self._checkpoints.get(engine_id)

    def check(
        self, engine_id: str, snapshot: BrokerSnapshot, internal: InternalState
    ) -> ReconcileResult | ReconcileRefusal:
        """Reconcile ``snapshot`` for ``engine_id``, or refuse it when it is not monotonic."""
        digest = snapshot_digest(snapshot)
        last = self._checkpoints.get(engine_id)
        if last is not None:
            rule = None
            if snapshot.captured_at < last.captured_at:
                rule = "older than the last snapshot used"
            elif snapshot.captured_at == last.captured_at and digest != last.snapshot_sha256:
                rule = "same captured_at as the last snapshot used but different content"
            if rule is not None:
                return not_monotonic(
                    engine_id, snapshot.captured_at, last.captured_at, digest, rule
                )
        result = reconcile(engine_id, snapshot, internal, self._config)
        self._checkpoints[engine_id] = SnapshotCheckpoint(
            captured_at=snapshot.captured_at, snapshot_sha256=digest
        )
        return result
