"""The strategy host: feeds complete bars of its timeframe(s) to its strategies.

It enforces the engine's limits (strategies, timeframes), refuses foreign-timeframe,
incomplete and out-of-order bars (typed REJECT decisions; such bars never reach a strategy or a
window), hands non-shadow signals to the ``execute`` callback, records everything through the
``record`` callback, and turns a strategy exception into a sticky ``STRATEGY_ERROR`` HALT_NEW
instead of crashing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mqk_schemas import Action, Bar, Decision, Timeframe, format_utc
from mqk_strategy._events import HostResult, StrategyEvent, StrategyEventType, StrategySignal
from mqk_strategy._fixed import MAX_FIXED_PRICE, MAX_LOOKBACK, to_fixed
from mqk_strategy._output import StrategyOutput
from mqk_strategy._protocol import Strategy
from mqk_strategy._registry import StrategyRegistry
from mqk_strategy._settings import EngineSection, HostSettings, engine_mapping
from mqk_strategy._time import us_to_utc, utc_to_us
from mqk_strategy._window import BarView, SeriesBuffer
from mqk_strategy.errors import (
    BarInputError,
    HostConfigError,
    StrategyLimitError,
    TimeframeLimitError,
)

__all__ = ["ExecuteCallback", "RecordCallback", "StrategyHost"]

ExecuteCallback = Callable[[StrategySignal], None]
"""Receives each non-shadow signal of a running (not halted) engine."""

RecordCallback = Callable[[StrategyEvent], None]
"""Receives every event the host records (targets, shadow intents, errors, refusals)."""


@dataclass(frozen=True, slots=True)
class _Slot:
    name: str
    strategy: Strategy
    timeframe: Timeframe
    lookback: int


class StrategyHost:
    """Runs one engine's strategies bar by bar under the engine's rules."""

    def __init__(
        self,
        settings: HostSettings,
        *,
        execute: ExecuteCallback | None = None,
        record: RecordCallback | None = None,
    ) -> None:
        self._settings = settings
        self._engine = settings.engine_id
        self._shadow = settings.shadow
        self._execute = execute
        self._record = record
        self._slots: list[_Slot] = []
        self._by_timeframe: dict[Timeframe, tuple[_Slot, ...]] = {}
        self._keep: dict[Timeframe, int] = {}
        self._buffers: dict[tuple[Timeframe, str], SeriesBuffer] = {}
        self._started = False
        self._halt: Decision | None = None
        self._halted: Decision | None = None
        self._allow = Decision.allow()

    @classmethod
    def from_engine_config(
        cls,
        engine: EngineSection,
        *,
        registry: StrategyRegistry,
        execute: ExecuteCallback | None = None,
        record: RecordCallback | None = None,
    ) -> StrategyHost:
        """Build a host from a config ``engine`` section (``strategies``, ``timeframe``, limits).

        ``engine`` is a mapping or the validated config model (e.g. mqk_config's
        ``EngineSettings``). Each ``strategies`` entry is ``{name, params}`` (optionally
        ``timeframe``, else the engine's); several entries of one strategy are labelled
        ``name#2``, ``name#3``...
        """
        engine = engine_mapping(engine)
        host = cls(HostSettings.from_engine_section(engine), execute=execute, record=record)
        default_timeframe = _timeframe(engine.get("timeframe"), "engine.timeframe")
        entries = engine.get("strategies")
        if not isinstance(entries, list | tuple):
            raise HostConfigError("engine.strategies must be a list of {name, params}")
        labels: dict[str, int] = {}
        for i, entry in enumerate(entries):
            where = f"engine.strategies[{i}]"
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                raise HostConfigError(f"{where} must be a mapping with a string 'name'")
            unknown = sorted(set(entry) - {"name", "params", "timeframe"})
            if unknown:
                raise HostConfigError(f"{where}: unknown keys {unknown}")
            name = entry["name"]
            strategy = registry.build(name, entry.get("params") or {})
            timeframe = (
                _timeframe(entry["timeframe"], f"{where}.timeframe")
                if "timeframe" in entry
                else default_timeframe
            )
            labels[name] = labels.get(name, 0) + 1
            label = name if labels[name] == 1 else f"{name}#{labels[name]}"
            host.add(label, strategy, timeframe)
        return host

    @property
    def settings(self) -> HostSettings:
        """The engine rules this host enforces."""
        return self._settings

    @property
    def strategies(self) -> tuple[str, ...]:
        """Names of the hosted strategies, in registration order."""
        return tuple(slot.name for slot in self._slots)

    @property
    def timeframes(self) -> tuple[Timeframe, ...]:
        """Timeframes the host accepts, in registration order."""
        return tuple(self._by_timeframe)

    @property
    def halted(self) -> Decision | None:
        """The sticky STRATEGY_ERROR decision that halted new orders, or None."""
        return self._halt

    def add(self, name: str, strategy: Strategy, timeframe: Timeframe) -> None:
        """Host ``strategy`` under ``name`` on ``timeframe`` (before the first bar only)."""
        engine = self._engine
        if self._started:
            raise HostConfigError(f"engine {engine}: strategies are fixed once bars have flowed")
        if not name or any(slot.name == name for slot in self._slots):
            raise HostConfigError(f"engine {engine}: strategy name {name!r} is empty or taken")
        if not isinstance(strategy, Strategy):
            raise HostConfigError(
                f"engine {engine}: {type(strategy).__name__} does not implement Strategy "
                "(lookback, on_bar)"
            )
        lookback = strategy.lookback
        if type(lookback) is not int or not 1 <= lookback <= MAX_LOOKBACK:
            raise HostConfigError(
                f"engine {engine}: strategy {name!r} lookback {lookback!r} is not in "
                f"1..{MAX_LOOKBACK}"
            )
        if not isinstance(timeframe, Timeframe):
            raise HostConfigError(f"engine {engine}: {timeframe!r} is not a Timeframe")
        limit = self._settings.max_strategies
        if len(self._slots) >= limit:
            raise StrategyLimitError(
                f"engine {engine} allows at most {limit} strateg{'y' if limit == 1 else 'ies'} "
                f"(engine.max_strategies); refusing {name!r} next to "
                f"{', '.join(repr(s) for s in self.strategies)}"
            )
        limit = self._settings.max_timeframes
        if timeframe not in self._by_timeframe and len(self._by_timeframe) >= limit:
            raise TimeframeLimitError(
                f"engine {engine} allows at most {limit} timeframe(s) (engine.max_timeframes); "
                f"refusing {timeframe} for {name!r}, already on "
                f"{', '.join(str(t) for t in self._by_timeframe)}"
            )
        slot = _Slot(name, strategy, timeframe, lookback)
        self._slots.append(slot)
        self._by_timeframe[timeframe] = (*self._by_timeframe.get(timeframe, ()), slot)
        self._keep[timeframe] = max(self._keep.get(timeframe, 1), lookback)

    def on_bar(self, bar: Bar) -> HostResult:
        """Handle one validated row bar (converted exactly to the fixed-point window)."""
        ts = utc_to_us(bar.ts_close_utc)
        refusal = self._admit(bar.symbol, bar.timeframe, ts, bar.is_complete)
        if refusal is not None:
            return refusal
        try:
            o = to_fixed(bar.open, field="open")
            h = to_fixed(bar.high, field="high")
            low = to_fixed(bar.low, field="low")
            c = to_fixed(bar.close, field="close")
        except BarInputError as error:
            return self._refuse("BAR_INPUT_INVALID", str(error), bar.symbol, bar.timeframe, ts, {})
        return self._handle(bar.symbol, bar.timeframe, ts, o, h, low, c, float(bar.volume))

    def on_fixed_bar(
        self,
        symbol: str,
        timeframe: Timeframe,
        ts_close_us: int,
        open: int,
        high: int,
        low: int,
        close: int,
        volume: float,
        *,
        is_complete: bool = True,
    ) -> HostResult:
        """Handle one bar already in fixed-point form (1e-8 units, epoch microseconds).

        The fast path for columnar callers; prices outside ``(0, MAX_FIXED_PRICE]`` are
        refused like any other bad input.
        """
        refusal = self._admit(symbol, timeframe, ts_close_us, is_complete)
        if refusal is not None:
            return refusal
        for field, value in (("open", open), ("high", high), ("low", low), ("close", close)):
            if not 0 < value <= MAX_FIXED_PRICE:
                return self._refuse(
                    "BAR_INPUT_INVALID",
                    f"{field}: {value} is outside (0, {MAX_FIXED_PRICE}] fixed-point units",
                    symbol,
                    timeframe,
                    ts_close_us,
                    {},
                )
        return self._handle(symbol, timeframe, ts_close_us, open, high, low, close, volume)

    def clear_halt(self, *, operator: str, reason: str) -> StrategyEvent:
        """Clear the sticky STRATEGY_ERROR halt (an operator action, recorded)."""
        if self._halt is None:
            raise HostConfigError(f"engine {self._engine} is not halted by a strategy error")
        if not operator.strip() or not reason.strip():
            raise HostConfigError("clearing a halt needs an operator and a reason")
        cause = self._halt
        self._halt = self._halted = None
        event = StrategyEvent(
            StrategyEventType.HALT_CLEARED,
            self._engine,
            int(cause.evidence["ts_close_us"]),
            {"operator": operator, "reason": reason, "cleared": cause.reason_code},
        )
        if self._record is not None:
            self._record(event)
        return event

    # -- internals -------------------------------------------------------------------------

    def _admit(
        self, symbol: str, timeframe: Timeframe, ts: int, is_complete: bool
    ) -> HostResult | None:
        if timeframe not in self._by_timeframe:
            accepted = [str(t) for t in self._by_timeframe]
            return self._refuse(
                "BAR_FOREIGN_TIMEFRAME",
                f"engine {self._engine} runs on {', '.join(accepted) or 'no timeframe'}; "
                f"refusing a {timeframe} bar",
                symbol,
                timeframe,
                ts,
                {"accepted": accepted},
            )
        if not is_complete:
            return self._refuse(
                "BAR_INCOMPLETE",
                "an incomplete bar never reaches a strategy",
                symbol,
                timeframe,
                ts,
                {},
            )
        return None

    def _handle(
        self,
        symbol: str,
        timeframe: Timeframe,
        ts: int,
        o: int,
        h: int,
        low: int,
        c: int,
        volume: float,
    ) -> HostResult:
        key = (timeframe, symbol)
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = SeriesBuffer(self._keep[timeframe])
            self._started = True
        elif buffer.last_ts is not None and ts <= buffer.last_ts:
            return self._refuse(
                "BAR_OUT_OF_ORDER",
                f"bar closes at or before the last bar of {symbol} {timeframe}",
                symbol,
                timeframe,
                ts,
                {"last_ts_close_utc": format_utc(us_to_utc(buffer.last_ts))},
            )
        buffer.append(ts, o, h, low, c, volume)
        if self._halted is not None:
            return HostResult(self._halted)
        view = BarView(symbol, timeframe, ts, o, h, low, c, volume)
        signals: list[StrategySignal] = []
        for slot in self._by_timeframe[timeframe]:
            window = buffer.window(symbol, timeframe, slot.lookback)
            try:
                output = slot.strategy.on_bar(view, window)
                if output is not None and type(output) is not StrategyOutput:
                    raise TypeError(
                        f"on_bar returned {type(output).__name__}; a strategy returns a "
                        "StrategyOutput of targets (or None), never orders"
                    )
            except Exception as error:
                return self._fail(slot, view, error)
            if output is not None:
                signals.append(
                    StrategySignal(
                        self._engine, slot.name, symbol, timeframe, ts, output, self._shadow
                    )
                )
        if not signals:
            return HostResult(self._allow)
        record, execute = self._record, self._execute
        for signal in signals:
            if record is not None:
                kind = (
                    StrategyEventType.SHADOW_INTENT if signal.shadow else StrategyEventType.TARGETS
                )
                record(StrategyEvent(kind, self._engine, ts, signal.payload()))
            if execute is not None and not signal.shadow:
                execute(signal)
        return HostResult(self._allow, tuple(signals))

    def _refuse(
        self,
        reason: str,
        message: str,
        symbol: str,
        timeframe: Timeframe,
        ts: int,
        extra: dict[str, Any],
    ) -> HostResult:
        evidence = {
            "engine_id": self._engine,
            "symbol": symbol,
            "timeframe": str(timeframe),
            "ts_close_utc": format_utc(us_to_utc(ts)),
            **extra,
        }
        decision = Decision(
            action=Action.REJECT, reason_code=reason, message=message, evidence=evidence
        )
        if self._record is not None:
            self._record(
                StrategyEvent(StrategyEventType.BAR_REFUSED, self._engine, ts, {}, decision)
            )
        return HostResult(decision)

    def _fail(self, slot: _Slot, bar: BarView, error: Exception) -> HostResult:
        decision = Decision(
            action=Action.HALT_NEW,
            reason_code="STRATEGY_ERROR",
            message=(
                f"strategy {slot.name!r} raised {type(error).__name__}: {error}; engine "
                f"{self._engine} halts new orders until an operator clears it"
            ),
            evidence={
                "engine_id": self._engine,
                "strategy": slot.name,
                "symbol": bar.symbol,
                "timeframe": str(bar.timeframe),
                "ts_close_utc": format_utc(bar.ts_close_utc),
                "ts_close_us": bar.ts_close_us,
                "exception_type": type(error).__name__,
                "exception_message": str(error),
            },
        )
        self._halt = decision
        self._halted = Decision(
            action=Action.HALT_NEW,
            reason_code="STRATEGY_HALTED",
            message=f"engine {self._engine} is halted by a strategy error in {slot.name!r}",
            evidence={"engine_id": self._engine, "cause": "STRATEGY_ERROR", "strategy": slot.name},
        )
        if self._record is not None:
            self._record(
                StrategyEvent(
                    StrategyEventType.STRATEGY_ERROR, self._engine, bar.ts_close_us, {}, decision
                )
            )
        return HostResult(decision)


def _timeframe(value: Any, where: str) -> Timeframe:
    try:
        return Timeframe(value)
    except ValueError:
        allowed = ", ".join(t.value for t in Timeframe)
        raise HostConfigError(f"{where}: {value!r} is not a timeframe ({allowed})") from None
