"""Shared fixtures of the mqk-db tests: fresh databases come from the mqk_db.testing plugin."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from mqk_db import ArmingInputs, RunRecord, RunSpec, create_run, record_reconcile
from mqk_schemas import RunMode

pytest_plugins = ["mqk_db.testing"]


class Kit:
    """Constants and builders shared by the tests (test modules cannot import each other)."""

    T0 = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
    CONFIG_JSON = '{"broker":{"account_id":"PA-0000-1234"},"risk":{"daily_loss_limit":0.02}}'
    CONFIG_HASH = hashlib.sha256(CONFIG_JSON.encode()).hexdigest()
    ACCOUNT_ID = "PA-0000-1234"
    PHRASE = "ARM LIVE 1234 0.02"
    FRESHNESS = timedelta(seconds=300)

    def spec(self, mode: RunMode = RunMode.LIVE, engine_id: str = "MAIN") -> RunSpec:
        """A valid run spec."""
        return RunSpec(
            engine_id=engine_id,
            mode=mode,
            config_hash=self.CONFIG_HASH,
            config_json=self.CONFIG_JSON,
            git_revision="0123456789abcdef0123456789abcdef01234567",
            host_fingerprint="feedfacecafebeef",
        )

    def inputs(self, **overrides: Any) -> ArmingInputs:
        """Arming inputs that pass every check (override fields to break some)."""
        values: dict[str, Any] = {
            "config_hash": self.CONFIG_HASH,
            "account_id": self.ACCOUNT_ID,
            "daily_loss_limit": Decimal("0.02"),
            "kill_switches_enabled": True,
            "reconcile_freshness": self.FRESHNESS,
            "risk_limits": {"risk.max_drawdown": Decimal("0.10")},
        }
        values.update(overrides)
        return ArmingInputs(**values)

    def new_run(
        self, engine: Engine, mode: RunMode = RunMode.LIVE, engine_id: str = "MAIN"
    ) -> RunRecord:
        """Create a run at T0."""
        return create_run(engine, self.spec(mode, engine_id), now=self.T0)

    def reconcile(
        self,
        engine: Engine,
        engine_id: str = "MAIN",
        at: datetime | None = None,
        result: str = "CLEAN",
    ) -> None:
        """Record a reconcile of ``engine_id`` captured at ``at`` (default T0)."""
        when = at or self.T0
        record_reconcile(
            engine, engine_id=engine_id, captured_at=when, result=result, diff_summary={}, now=when
        )


@pytest.fixture
def kit() -> Kit:
    """Constants and builders."""
    return Kit()


@pytest.fixture
def db(db_engine: Engine) -> Engine:
    """A migrated database, on SQLite and on PostgreSQL in turn."""
    return db_engine
