"""mqk_runtime: the PAPER/LIVE runtime loop, its crash safety and the paper broker.

The loop (one cycle per bar): integrity gate -> paper broker fills -> inbox -> ledger -> risk
per-bar check -> strategy host -> targets to intents -> execution gateway (armed, integrity,
risk, allocation) -> outbox -> broker -> reconcile tick every ``reconcile.interval_bars`` bars
-> heartbeat -> cycle commit. Time comes from a clock handed in (:class:`ReplayClock` replays a
recorded feed as fast as possible, :class:`WallClock` waits for real time)::

    summary = run_paper(db_engine, config, ReplayFeed(load_bars(path, tf)))   # one call
    runtime = Runtime.create(db, config, feed, mode=RunMode.LIVE, clock=clock,
                             broker_factory=factory)
    runtime.arm(confirmation="ARM LIVE 1234 0.02"); runtime.begin(); runtime.run_feed()
    runtime = Runtime.resume(db, config, run_id, feed, clock=clock, broker_factory=factory)

Crash safety: outbox row committed before the broker call (deterministic client_order_id, so a
retry reuses it), inbox dedupe by broker_fill_id with the ledger rebuilt from applied fills, and
a restart that comes back disarmed, resolves open outbox rows against the broker and needs a
CLEAN reconcile before it trades again. Kill switches (stale feed, reconcile drift, unknown
broker order, reject storm, drawdown, ...) halt the run with the reason and audit it.
:func:`check_engine` reconciles a snapshot file against an engine's stored state.
"""

from mqk_runtime._clock import ReplayClock, RuntimeClock, WallClock
from mqk_runtime._components import EngineComponents, arming_inputs
from mqk_runtime._durable import DurableBroker
from mqk_runtime._failpoints import FAILPOINT_ENV, FAILPOINTS, Failpoints
from mqk_runtime._feed import BarFeed, ReplayFeed
from mqk_runtime._internal import StoredState, internal_state_from_parts, load_internal_state
from mqk_runtime._journal import JournalEntry, PaperJournal
from mqk_runtime._lifecycle import Runtime
from mqk_runtime._paper import FAULT_REJECT, BrokerFaults, PaperBroker
from mqk_runtime._paper_run import paper_broker_factory, run_paper
from mqk_runtime._rearm import rearm_run
from mqk_runtime._recon import EngineCheck, ReconcileTick, check_engine, reconcile_and_record
from mqk_runtime._runtime import BrokerFactory, ProgressCallback
from mqk_runtime._store import CycleState, RunStore
from mqk_runtime._summary import RunSummary
from mqk_runtime._tables import ensure_runtime_tables
from mqk_runtime._views import MarketDriven
from mqk_runtime.errors import (
    BarsMismatchError,
    LifecycleOrderError,
    MqkRuntimeError,
    PaperJournalError,
    ResumeRefusedError,
    RuntimeInputError,
)

__version__ = "0.1.0"

__all__ = [
    "FAILPOINTS",
    "FAILPOINT_ENV",
    "FAULT_REJECT",
    "BarFeed",
    "BarsMismatchError",
    "BrokerFactory",
    "BrokerFaults",
    "CycleState",
    "DurableBroker",
    "EngineCheck",
    "EngineComponents",
    "Failpoints",
    "JournalEntry",
    "LifecycleOrderError",
    "MarketDriven",
    "MqkRuntimeError",
    "PaperBroker",
    "PaperJournal",
    "PaperJournalError",
    "ProgressCallback",
    "ReconcileTick",
    "ReplayClock",
    "ReplayFeed",
    "ResumeRefusedError",
    "RunStore",
    "RunSummary",
    "Runtime",
    "RuntimeClock",
    "RuntimeInputError",
    "StoredState",
    "WallClock",
    "__version__",
    "arming_inputs",
    "check_engine",
    "ensure_runtime_tables",
    "internal_state_from_parts",
    "load_internal_state",
    "paper_broker_factory",
    "rearm_run",
    "reconcile_and_record",
    "run_paper",
]
