"""Canonical JSON lines of compact event envelopes: what a run's audit log records.

A long run records hundreds of thousands of events, so it keeps each as an
:data:`EnvelopeEntry`: its timestamp text, topic, type, correlation and causation ids and the
canonical JSON of its payload; the event id and run id are derived. :func:`envelope_lines`
renders entries as the canonical JSON of the whole :class:`~mqk_schemas.EventEnvelope` (sorted
keys, no spaces), a batch at a time. Compiled with the hot modules (``tools/compiled.py``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Final

from mqk_schemas.identity import event_id_text_range

__all__ = ["EnvelopeEntry", "envelope_lines", "json_text"]

EnvelopeEntry = tuple[str, str, str, str | None, str | None, str]
"""(ts_utc text, topic, event_type, correlation_id, causation_id, payload as canonical JSON)"""

_Q: Final = '"'


def json_text(value: str | None) -> str:
    """``value`` as a JSON string literal (``null`` for None), for hand-rendered payloads."""
    if value is None:
        return "null"
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'  # nothing to escape (symbols, ids, timestamps)
    return json.dumps(value, ensure_ascii=False)


def envelope_lines(
    run_id: uuid.UUID, engine_id: str, entries: Sequence[EnvelopeEntry], first_seq: int
) -> list[str]:
    """The canonical JSON of each of ``entries``, whose ``seq`` numbers start at
    ``first_seq`` (event ids are derived a batch at a time)."""
    stop = first_seq + len(entries)
    event_ids = event_id_text_range(run_id, first_seq, stop)
    head = f'"engine_id":{json.dumps(engine_id, ensure_ascii=False)},"event_id":"'
    run = f',"run_id":{json.dumps(str(run_id))},"seq":'
    if _all_plain(entries):
        # no string needs escaping: each is quoted as is (what json_text does then)
        return [
            f'{{"causation_id":{"null" if causation is None else _Q + causation + _Q},'
            f'"correlation_id":{"null" if correlation is None else _Q + correlation + _Q},'
            f'{head}{event_id}","event_type":"{event_type}","payload":{payload}{run}{seq},'
            f'"topic":"{topic}","ts_utc":"{ts}"}}'
            for seq, (ts, topic, event_type, correlation, causation, payload), event_id in zip(
                range(first_seq, stop), entries, event_ids, strict=True
            )
        ]
    jt = json_text
    return [
        f'{{"causation_id":{jt(causation)},"correlation_id":{jt(correlation)},'
        f'{head}{event_id}","event_type":{jt(event_type)},"payload":{payload}{run}{seq},'
        f'"topic":{jt(topic)},"ts_utc":{jt(ts)}}}'
        for seq, (ts, topic, event_type, correlation, causation, payload), event_id in zip(
            range(first_seq, stop), entries, event_ids, strict=True
        )
    ]


def _all_plain(entries: Sequence[EnvelopeEntry]) -> bool:
    """True when no string field of ``entries`` needs escaping in JSON (:func:`json_text`'s
    test, applied to all of them joined: each test holds for a join iff for every part)."""
    parts: list[Iterable[str]] = [map(itemgetter(field), entries) for field in range(3)]
    parts += [filter(None, map(itemgetter(field), entries)) for field in (3, 4)]
    text = "".join("".join(part) for part in parts)
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
