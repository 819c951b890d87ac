"""Engine-scoped state: each engine gets a scope holding only its own state.

An :class:`EngineScope` is bound to one engine id and holds that engine's positions, orders,
risk state and integrity state, and no reference to anything else: there is no call on it
that names another engine's data. Records that carry an engine identity (an order, its
``client_order_id`` namespace, a state object with an ``engine_id``) are checked, and one of
another engine raises :class:`CrossEngineAccessError` and changes nothing. The runtime holds the
:class:`EngineStateStore` and hands each engine only its own scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType

from mqk_isolation._settings import EngineViolation
from mqk_isolation.errors import CrossEngineAccessError, EngineSettingsError, UnknownEngineError
from mqk_schemas import ENGINE_ID_PATTERN, Order, Position, engine_of_client_order_id

__all__ = ["EngineScope", "EngineStateStore"]

_NO_NAMESPACE = "<no engine namespace>"
_ENGINE_RE = re.compile(ENGINE_ID_PATTERN)


class EngineScope:
    """The state of one engine; every read and write stays inside that engine."""

    __slots__ = ("_engine_id", "_integrity_state", "_orders", "_positions", "_risk_state")

    def __init__(self, engine_id: str) -> None:
        self._engine_id = engine_id
        self._positions: dict[str, Position] = {}
        self._orders: dict[str, Order] = {}
        self._risk_state: object | None = None
        self._integrity_state: object | None = None

    def __repr__(self) -> str:
        return f"EngineScope({self._engine_id!r})"

    @property
    def engine_id(self) -> str:
        """The engine this scope belongs to."""
        return self._engine_id

    def require_own(self, engine_id: str | None, what: str) -> None:
        """Raise :class:`CrossEngineAccessError` unless ``engine_id`` is this scope's engine."""
        if engine_id != self._engine_id:
            raise CrossEngineAccessError(self._engine_id, engine_id or _NO_NAMESPACE, what)

    # positions ---------------------------------------------------------------------------

    def position(self, symbol: str) -> Position | None:
        """This engine's position in ``symbol``, or None when flat."""
        return self._positions.get(symbol)

    def position_quantity(self, symbol: str) -> Decimal:
        """This engine's signed quantity in ``symbol`` (0 when flat)."""
        position = self._positions.get(symbol)
        return Decimal(0) if position is None else position.quantity

    def positions(self) -> Mapping[str, Position]:
        """A read-only view of this engine's positions by symbol."""
        return MappingProxyType(self._positions)

    def set_position(self, position: Position) -> None:
        """Store this engine's position; a zero quantity removes the symbol."""
        if position.quantity == 0:
            self._positions.pop(position.symbol, None)
        else:
            self._positions[position.symbol] = position

    # orders ------------------------------------------------------------------------------

    def order(self, client_order_id: str) -> Order | None:
        """This engine's order ``client_order_id``; an id in another engine's namespace raises."""
        self.require_own(engine_of_client_order_id(client_order_id), f"order {client_order_id}")
        return self._orders.get(client_order_id)

    def orders(self) -> Mapping[str, Order]:
        """A read-only view of this engine's orders by client order id."""
        return MappingProxyType(self._orders)

    def put_order(self, order: Order) -> None:
        """Store (insert or update) one of this engine's orders."""
        what = f"order {order.client_order_id}"
        self.require_own(order.engine_id, what)
        self.require_own(engine_of_client_order_id(order.client_order_id), what)
        self._orders[order.client_order_id] = order

    # risk and integrity state --------------------------------------------------------------

    @property
    def risk_state(self) -> object | None:
        """This engine's stored risk state (e.g. an ``mqk_risk.RiskState``), or None."""
        return self._risk_state

    def set_risk_state(self, state: object) -> None:
        """Store this engine's risk state; a state carrying another ``engine_id`` raises."""
        self._check_state(state, "risk state")
        self._risk_state = state

    @property
    def integrity_state(self) -> object | None:
        """This engine's stored integrity state, or None."""
        return self._integrity_state

    def set_integrity_state(self, state: object) -> None:
        """Store this engine's integrity state; a state carrying another ``engine_id`` raises."""
        self._check_state(state, "integrity state")
        self._integrity_state = state

    def _check_state(self, state: object, what: str) -> None:
        owner = getattr(state, "engine_id", self._engine_id)
        self.require_own(owner if isinstance(owner, str) else None, what)


class EngineStateStore:
    """The container of every engine's scope; held by the runtime, never by an engine."""

    __slots__ = ("_scopes",)

    def __init__(self, engine_ids: Iterable[str]) -> None:
        violations: list[EngineViolation] = []
        scopes: dict[str, EngineScope] = {}
        for engine_id in engine_ids:
            path = f"engines.{engine_id}"
            if not isinstance(engine_id, str) or not _ENGINE_RE.match(engine_id):
                violations.append(
                    EngineViolation(
                        path=path,
                        reason_code="ENGINE_ID_INVALID",
                        message="not an upper-case engine token",
                    )
                )
            elif engine_id in scopes:
                violations.append(
                    EngineViolation(
                        path=path, reason_code="ENGINE_ID_DUPLICATE", message="declared twice"
                    )
                )
            else:
                scopes[engine_id] = EngineScope(engine_id)
        if violations:
            raise EngineSettingsError(violations)
        self._scopes = scopes

    @property
    def engine_ids(self) -> tuple[str, ...]:
        """The engines registered, sorted."""
        return tuple(sorted(self._scopes))

    def scope(self, engine_id: str) -> EngineScope:
        """The scope of ``engine_id`` (the same object every time)."""
        try:
            return self._scopes[engine_id]
        except KeyError:
            raise UnknownEngineError(f"no scope registered for engine {engine_id!r}") from None
