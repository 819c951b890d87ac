"""``run_paper``: one call for a PAPER session (create or resume, arm, begin, run, stop)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from mqk_config import EffectiveConfig
from mqk_db import RunRecord
from mqk_runtime._clock import ReplayClock, RuntimeClock
from mqk_runtime._components import EngineComponents
from mqk_runtime._failpoints import Failpoints
from mqk_runtime._feed import BarFeed
from mqk_runtime._journal import PaperJournal
from mqk_runtime._lifecycle import Runtime
from mqk_runtime._paper import BrokerFaults, PaperBroker
from mqk_runtime._runtime import BrokerFactory, ProgressCallback
from mqk_runtime._summary import RunSummary
from mqk_schemas import RunMode
from mqk_strategy import StrategyRegistry

__all__ = ["paper_broker_factory", "run_paper"]


def paper_broker_factory(
    db: Engine,
    config: EffectiveConfig,
    clock: RuntimeClock,
    *,
    faults: BrokerFaults | None = None,
    failpoints: Failpoints | None = None,
    on_open: Callable[[PaperBroker], None] | None = None,
) -> BrokerFactory:
    """Opens the run's :class:`PaperBroker` (its journal replayed) from config ``broker`` and
    ``execution``; ``on_open`` sees each broker opened (tests keep a handle on it)."""
    components = EngineComponents.from_config(config)

    def factory(run: RunRecord) -> PaperBroker:
        broker = PaperBroker(
            components.execution,
            journal=PaperJournal(db, run.run_id),
            clock=clock.now,
            account_id=components.account_id,
            starting_cash=components.starting_cash,
            currency=components.currency,
            faults=faults,
            failpoints=failpoints,
        )
        if on_open is not None:
            on_open(broker)
        return broker

    return factory


def run_paper(
    db: Engine,
    config: EffectiveConfig,
    feed: BarFeed,
    *,
    clock: RuntimeClock | None = None,
    resume: uuid.UUID | None = None,
    registry: StrategyRegistry | None = None,
    faults: BrokerFaults | None = None,
    failpoints: Failpoints | None = None,
    progress: ProgressCallback | None = None,
    git_revision: str = "unknown",
    host_fingerprint: str = "unknown",
    resubmit_missing: bool = True,
    created_at: datetime | None = None,
) -> RunSummary:
    """Run ``feed`` as a PAPER run of ``config``'s engine, to the end, and stop the run.

    A new run is created unless ``resume`` names one to restart. The default clock replays the
    feed as fast as possible. Shadow mode comes from the config (``engine.shadow``). A kill
    switch halts the run (the rest of the feed is only observed); the run is stopped either way.
    """
    if clock is None:
        clock = ReplayClock(next(iter(feed.bars_from(0))).ts_close_utc)
    failpoints = failpoints or Failpoints.disabled()
    factory = paper_broker_factory(db, config, clock, faults=faults, failpoints=failpoints)
    if resume is None:
        runtime = Runtime.create(
            db,
            config,
            feed,
            mode=RunMode.PAPER,
            clock=clock,
            broker_factory=factory,
            registry=registry,
            failpoints=failpoints,
            git_revision=git_revision,
            host_fingerprint=host_fingerprint,
            created_at=created_at,
        )
    else:
        runtime = Runtime.resume(
            db,
            config,
            resume,
            feed,
            clock=clock,
            broker_factory=factory,
            registry=registry,
            failpoints=failpoints,
            resubmit_missing=resubmit_missing,
        )
    if runtime.halted is None:
        runtime.arm()
        runtime.begin()
        runtime.run_feed(progress)
    runtime.stop()
    return runtime.summary()
