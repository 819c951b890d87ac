"""Exceptions raised by :mod:`mqk_reconcile`.

Exceptions are for input that cannot be reconciled at all (a malformed snapshot file, an internal
state that is not the engine's). A snapshot that is well formed but older than the last one used
is not an exception: :class:`~mqk_reconcile.Reconciler` returns a typed
:class:`~mqk_reconcile.ReconcileRefusal` (reason ``SNAPSHOT_NOT_MONOTONIC``).

::

    ReconcileError                  base of every error raised here
    └── ReconcileInputError         an input breaks a rule; names the field and the rule
        ├── SnapshotInvalidError    a broker snapshot's content breaks a rule (duplicate ids)
        │   └── SnapshotLoadError   a snapshot file cannot be read or parsed; also names the file
        └── InternalStateError      internal state outside the engine's namespace
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FieldProblem",
    "InternalStateError",
    "ReconcileError",
    "ReconcileInputError",
    "SnapshotInvalidError",
    "SnapshotLoadError",
]


class ReconcileError(Exception):
    """Base class of every error raised by mqk_reconcile."""

    reason_code: str = "RECONCILE_ERROR"


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One broken rule: the field (a dotted path such as ``orders[0].quantity``) and the rule."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


class ReconcileInputError(ReconcileError, ValueError):
    """An input breaks a rule; ``problems`` lists every broken rule, the first one is ``field``."""

    reason_code = "RECONCILE_INPUT_INVALID"

    def __init__(self, what: str, problems: Sequence[FieldProblem]) -> None:
        if not problems:
            raise ValueError("an input error needs at least one problem")
        self.what = what
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        listed = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{what}: {listed}")

    @property
    def field(self) -> str:
        """The first field that broke a rule."""
        return self.problems[0].field

    @property
    def rule(self) -> str:
        """The rule the first field broke."""
        return self.problems[0].rule


class SnapshotInvalidError(ReconcileInputError):
    """A broker snapshot's content breaks a rule (for example two orders with one id)."""

    reason_code = "SNAPSHOT_INVALID"


class SnapshotLoadError(SnapshotInvalidError):
    """A snapshot file cannot be read, is not valid JSON, or does not describe a snapshot."""

    reason_code = "SNAPSHOT_LOAD_FAILED"

    def __init__(self, path: str, problems: Sequence[FieldProblem]) -> None:
        self.path = path
        super().__init__(f"snapshot file {path}", problems)


class InternalStateError(ReconcileInputError):
    """The internal state handed in holds orders or fills outside the engine's namespace."""

    reason_code = "INTERNAL_STATE_INVALID"
