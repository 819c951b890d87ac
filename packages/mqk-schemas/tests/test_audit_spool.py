"""The audit spool: a helper process chains envelope entries into exactly the in-process bytes,
and anything going wrong with it leaves no file behind and reports None (never a wrong log)."""

from __future__ import annotations

import gc
import io
import json
import pickle
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_schemas import (
    AuditChain,
    AuditSpool,
    EnvelopeEntry,
    SpooledAudit,
    Topic,
    audit_log_chunks,
    envelope_lines,
    verify_audit_file,
)
from mqk_schemas.audit_spool import FRAME_HEAD, read_frames

RUN_ID = uuid.UUID("6f1c1c55-5b8e-4f4e-9a43-0d8f7f5b2f11")
ENGINE = "MAIN"


def _entries(count: int, *, odd: bool = False) -> list[EnvelopeEntry]:
    """``count`` entries of a run's shapes; ``odd`` adds text JSON must escape."""
    symbol = 'S"Q\\ü' if odd else "AAPL"
    return [
        (
            f"2024-03-04T15:{seq % 60:02d}:00Z",
            Topic.OMS if seq % 3 else Topic.BROKER,
            "ORDER_SENT" if seq % 2 else "ORDER_FILLED",
            None if seq % 5 == 0 else f"MAIN_0123456789ab_{seq:08d}",
            None,
            f'{{"quantity":"{seq}","symbol":"{"S" if odd else "AAPL"}"}}',
        )
        if seq % 7
        else ("2024-03-04T15:00:00Z", Topic.RISK, "ORDER_REFUSED", symbol, symbol, '{"a":[1]}')
        for seq in range(count)
    ]


def _in_process(entries: list[EnvelopeEntry]) -> tuple[bytes, str]:
    """The log as the artifacts render it without a spool, and its last hash."""
    chain = AuditChain()
    batches = [
        envelope_lines(RUN_ID, ENGINE, entries[start : start + 2048], start)
        for start in range(0, len(entries), 2048)
    ]
    return b"".join(audit_log_chunks(chain, batches)), chain.last_hash


def _send_in_batches(spool: AuditSpool, entries: list[EnvelopeEntry], sizes: list[int]) -> None:
    start = 0
    for size in sizes:
        spool.send(entries[start : start + size])
        start += size
    spool.send(entries[start:])


def _leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name.startswith(".audit-"))


@pytest.mark.parametrize(
    ("count", "sizes", "odd"),
    [
        pytest.param(0, [], False, id="no-events"),
        pytest.param(1, [], False, id="one-event"),
        pytest.param(5000, [4096], False, id="a-batch-and-a-rest"),
        pytest.param(3000, [1, 0, 999, 1000], True, id="uneven-batches-with-escapes"),
    ],
)
def contract_the_spooled_log_is_the_in_process_log_byte_for_byte(
    tmp_path: Path, count: int, sizes: list[int], odd: bool
) -> None:
    entries = _entries(count, odd=odd)
    spool = AuditSpool(tmp_path, RUN_ID, ENGINE)
    _send_in_batches(spool, entries, sizes)
    spooled = spool.finish()

    assert spooled is not None
    expected, last_hash = _in_process(entries)
    assert spooled.path.read_bytes() == expected
    assert (spooled.events, spooled.last_hash) == (count, last_hash)
    assert spooled.helper_peak_rss_kib is None or spooled.helper_peak_rss_kib > 0
    if count:
        assert verify_audit_file(spooled.path).ok


@settings(max_examples=15, deadline=None, database=None)
@given(
    texts=st.lists(st.text(max_size=6), min_size=1, max_size=40),
    cut=st.integers(min_value=0, max_value=40),
)
def invariant_any_text_and_any_batching_chain_alike(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], cut: int
) -> None:
    entries: list[EnvelopeEntry] = [
        ("2024-01-02T00:00:00Z", Topic.AUDIT, text or "E", text or None, None, "{}")
        for text in texts
    ]
    spool = AuditSpool(tmp_path_factory.mktemp("spool"), RUN_ID, ENGINE)
    _send_in_batches(spool, entries, [cut])
    spooled = spool.finish()

    assert spooled is not None
    assert (spooled.path.read_bytes(), spooled.last_hash) == _in_process(entries)


def fault_a_helper_that_cannot_start_raises_and_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-python"):
        AuditSpool(tmp_path, RUN_ID, ENGINE, python=str(tmp_path / "no-such-python"))

    assert _leftovers(tmp_path) == []


def fault_a_helper_killed_mid_run_gives_none_and_no_file(tmp_path: Path) -> None:
    spool = AuditSpool(tmp_path, RUN_ID, ENGINE)
    spool.send(_entries(100))
    spool._process.kill()  # the fault under test
    spool._process.wait()
    spool.send(_entries(100))

    assert spool.finish() is None
    assert _leftovers(tmp_path) == []


def _fake_python(tmp_path: Path, report: str) -> str:
    """An executable standing in for Python: swallows its input, prints ``report``."""
    script = tmp_path / "fake-python"
    script.write_text(f"#!/bin/sh\ncat > /dev/null\nprintf '%s' '{report}'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.mark.parametrize(
    "report",
    [
        pytest.param(
            '{"events": 3, "last_hash": "' + "a" * 64 + '", "peak_rss_kib": 1}', id="count"
        ),
        pytest.param('{"events": 10, "last_hash": "short", "peak_rss_kib": 1}', id="hash"),
        pytest.param('{"events": "10", "last_hash": "' + "a" * 64 + '"}', id="types"),
        pytest.param("not json", id="not-json"),
        pytest.param("", id="silent"),
    ],
)
def fault_a_helper_whose_report_disagrees_gives_none_and_no_file(
    tmp_path: Path, report: str
) -> None:
    spool = AuditSpool(tmp_path, RUN_ID, ENGINE, python=_fake_python(tmp_path, report))
    spool.send(_entries(10))

    assert spool.finish() is None
    assert _leftovers(tmp_path) == []


def unit_abort_stops_the_helper_and_removes_its_file(tmp_path: Path) -> None:
    spool = AuditSpool(tmp_path, RUN_ID, ENGINE)
    spool.send(_entries(50))
    spool.abort()

    assert spool._process.returncode is not None
    assert _leftovers(tmp_path) == []


def _finished(directory: Path) -> SpooledAudit:
    """A finished spool's log (the spool itself dropped on return)."""
    spool = AuditSpool(directory, RUN_ID, ENGINE)
    spool.send(_entries(20))
    done = spool.finish()
    assert done is not None
    return done


def unit_a_spooled_log_is_removed_when_dropped_unless_moved(tmp_path: Path) -> None:
    moved, lost = _finished(tmp_path), _finished(tmp_path)
    target = tmp_path / "run" / "audit.jsonl"
    target.parent.mkdir()

    assert moved.move_to(target) is True
    assert moved.move_to(target) is False  # gone from the spool folder already
    del moved, lost
    gc.collect()
    assert _leftovers(tmp_path) == []
    assert verify_audit_file(target).ok


def unit_a_spooled_log_that_cannot_be_moved_says_so(tmp_path: Path) -> None:
    spool = AuditSpool(tmp_path, RUN_ID, ENGINE)
    spool.send(_entries(5))
    spooled = spool.finish()
    assert isinstance(spooled, SpooledAudit)

    assert spooled.move_to(tmp_path / "missing-folder" / "audit.jsonl") is False
    assert spooled.path.is_file()  # still there for the in-process fallback to ignore


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        pytest.param(b"\x01\x02", "frame header", id="cut-header"),
        pytest.param(FRAME_HEAD.pack(100) + b"x" * 10, "inside a frame", id="cut-frame"),
    ],
)
def fault_a_cut_off_frame_is_an_error_not_a_short_log(stream: bytes, message: str) -> None:
    with pytest.raises(EOFError, match=message):
        list(read_frames(io.BytesIO(stream)))


def unit_frames_read_back_what_was_framed() -> None:
    batches = [_entries(3), [], _entries(2, odd=True)]
    blob = b"".join(
        FRAME_HEAD.pack(len(data)) + data
        for data in (pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL) for batch in batches)
    )

    assert list(read_frames(io.BytesIO(blob))) == batches


def contract_the_helper_runs_quietly_on_this_interpreter(tmp_path: Path) -> None:
    entries = _entries(10)
    blob = pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)
    worker = [sys.executable, "-m", "mqk_schemas._audit_worker"]
    done = subprocess.run(
        [*worker, str(tmp_path / "log"), str(RUN_ID), ENGINE],
        input=FRAME_HEAD.pack(len(blob)) + blob,
        capture_output=True,
        check=True,
    )

    assert done.stderr == b""  # no warning (say, of a module run twice) and no traceback
    report = json.loads(done.stdout)
    assert (report["events"], report["last_hash"]) == (10, _in_process(entries)[1])


def unit_a_closed_spool_finishes_on_its_own_and_answers_alike_twice(tmp_path: Path) -> None:
    entries = _entries(300)
    spool = AuditSpool(tmp_path, RUN_ID, ENGINE)
    spool.send(entries)
    spool.close_input()
    with pytest.raises(ValueError, match="closed"):
        spool.send(entries)

    first, second = spool.finish(), spool.finish()
    assert first is second
    assert first is not None
    assert (first.path.read_bytes(), first.last_hash) == _in_process(entries)


@pytest.mark.parametrize("closed", [True, False], ids=["input-closed", "still-open"])
def fault_a_spool_dropped_before_finishing_stops_its_helper_and_removes_its_file(
    tmp_path: Path, closed: bool
) -> None:
    spool = AuditSpool(tmp_path, RUN_ID, ENGINE)
    spool.send(_entries(50))
    process, feeder = spool._process, spool._feeder
    if closed:
        spool.close_input()
    del spool
    gc.collect()
    feeder.join(timeout=10)

    assert process.returncode is not None
    assert not feeder.is_alive()  # no thread left waiting for frames
    assert _leftovers(tmp_path) == []
