"""mqk_schemas: the shared vocabulary of MiniQuantDesk.

Immutable, strict pydantic models with exact money (Decimal, never float) and UTC-only time,
the event envelope, canonical JSON and the hash-chained audit log.
"""

from typing import TYPE_CHECKING, Any

from mqk_schemas._base import trusted
from mqk_schemas._chain import audit_log_chunks
from mqk_schemas._envelope_lines import EnvelopeEntry, envelope_lines, json_text
from mqk_schemas.audit import (
    GENESIS_HASH,
    AuditChain,
    AuditLogWriter,
    AuditVerification,
    verify_audit_file,
    verify_audit_lines,
)
from mqk_schemas.audit_spool import AuditSpool, SpooledAudit
from mqk_schemas.canonical import canonical_json, jsonable, sha256_hex
from mqk_schemas.decisions import Decision, most_severe
from mqk_schemas.enums import (
    Action,
    OrderStatus,
    OrderType,
    RunMode,
    RunStatus,
    Side,
    Timeframe,
    TimeInForce,
    Topic,
)
from mqk_schemas.errors import (
    AuditChainError,
    BarFrameSchemaError,
    ExactnessError,
    NaiveDatetimeError,
    SchemaError,
)
from mqk_schemas.events import EventEnvelope, make_event
from mqk_schemas.identity import (
    ENGINE_ID_PATTERN,
    EngineId,
    RunId,
    Symbol,
    client_order_id,
    client_order_ids,
    engine_of_client_order_id,
    event_id,
    event_id_text_range,
    event_id_texts,
)
from mqk_schemas.market import Bar, Instrument
from mqk_schemas.trading import (
    Account,
    BrokerSnapshot,
    Fill,
    Order,
    OrderIntent,
    Position,
    TargetPosition,
)
from mqk_schemas.types import (
    ExactDecimal,
    NonNegativeDecimal,
    PositiveDecimal,
    UtcDatetime,
    format_decimal,
    format_utc,
    to_decimal,
    to_utc,
)

if TYPE_CHECKING:
    from mqk_schemas.bars import BAR_FRAME_SCHEMA, PRICE_SCALE, BarFrame

__version__ = "0.1.0"

_NEED_POLARS = frozenset({"BAR_FRAME_SCHEMA", "PRICE_SCALE", "BarFrame"})


def __getattr__(name: str) -> Any:
    """The bar-frame names, imported on first use: they need polars, which a process that
    only reads or writes events (the audit spool's helper) does without (~50 MiB, ~0.1 s)."""
    if name in _NEED_POLARS:
        from mqk_schemas import bars

        return getattr(bars, name)
    raise AttributeError(f"module 'mqk_schemas' has no attribute {name!r}")


__all__ = [
    "BAR_FRAME_SCHEMA",
    "ENGINE_ID_PATTERN",
    "GENESIS_HASH",
    "PRICE_SCALE",
    "Account",
    "Action",
    "AuditChain",
    "AuditChainError",
    "AuditLogWriter",
    "AuditSpool",
    "AuditVerification",
    "Bar",
    "BarFrame",
    "BarFrameSchemaError",
    "BrokerSnapshot",
    "Decision",
    "EngineId",
    "EnvelopeEntry",
    "EventEnvelope",
    "ExactDecimal",
    "ExactnessError",
    "Fill",
    "Instrument",
    "NaiveDatetimeError",
    "NonNegativeDecimal",
    "Order",
    "OrderIntent",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositiveDecimal",
    "RunId",
    "RunMode",
    "RunStatus",
    "SchemaError",
    "Side",
    "SpooledAudit",
    "Symbol",
    "TargetPosition",
    "TimeInForce",
    "Timeframe",
    "Topic",
    "UtcDatetime",
    "__version__",
    "audit_log_chunks",
    "canonical_json",
    "client_order_id",
    "client_order_ids",
    "engine_of_client_order_id",
    "envelope_lines",
    "event_id",
    "event_id_text_range",
    "event_id_texts",
    "format_decimal",
    "format_utc",
    "json_text",
    "jsonable",
    "make_event",
    "most_severe",
    "sha256_hex",
    "to_decimal",
    "to_utc",
    "trusted",
    "verify_audit_file",
    "verify_audit_lines",
]
