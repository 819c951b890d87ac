"""Writing a run's audit log while the run goes on, in a helper process.

A long backtest records hundreds of thousands of events. Rendering each as its chained audit
line (canonical JSON with a SHA-1 event id, then the SHA-256 chain hash) costs about a fifth of
the run, and all of it came after the run. An :class:`AuditSpool` takes the events a batch at
a time while they are recorded and hands them to a helper process
(:mod:`mqk_schemas._audit_worker`), which renders and chains them into a file on the
machine's other core. That file's bytes are exactly those of the in-process path (the helper
runs the same :func:`~mqk_schemas.envelope_lines` and :class:`~mqk_schemas.AuditChain`).

The spool only ever saves time: when the helper cannot start, dies, or reports another number
of events than it was sent, :meth:`AuditSpool.finish` returns None, removes its file, and the
caller renders the log in process from the events it kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import queue
import struct
import subprocess
import sys
import tempfile
import threading
import uuid
import weakref
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, BinaryIO

from mqk_schemas._chain import AuditChain, audit_log_chunks
from mqk_schemas._envelope_lines import EnvelopeEntry, envelope_lines

__all__ = ["FRAME_HEAD", "AuditSpool", "SpooledAudit", "chain_into", "read_frames"]

PIPE_BYTES = 1 << 20
"""The pipe to the helper is widened to this (Linux's default limit for an unprivileged user)."""

FINISH_TIMEOUT_S = 300.0
"""How long :meth:`AuditSpool.finish` waits for the helper to write what it was sent."""


FRAME_HEAD = struct.Struct("<Q")
"""Each frame's length, before its pickled entries."""


def read_frames(stream: BinaryIO) -> Iterator[list[EnvelopeEntry]]:
    """The entry lists framed on ``stream`` until it ends (a cut-off frame raises EOFError)."""
    while True:
        head = stream.read(FRAME_HEAD.size)
        if not head:
            return
        if len(head) != FRAME_HEAD.size:
            raise EOFError("the audit spool's input ended inside a frame header")
        (size,) = FRAME_HEAD.unpack(head)
        blob = stream.read(size)
        if len(blob) != size:
            raise EOFError("the audit spool's input ended inside a frame")
        entries: list[EnvelopeEntry] = pickle.loads(blob)
        yield entries


def chain_into(
    path: Path, run_id: uuid.UUID, engine_id: str, frames: Iterable[list[EnvelopeEntry]]
) -> tuple[int, str]:
    """Write the audit log of every entry of ``frames`` to ``path``; returns the number of
    events and the last line's hash."""
    chain = AuditChain()
    seq = 0

    def records() -> Iterator[list[str]]:
        nonlocal seq
        for entries in frames:
            yield envelope_lines(run_id, engine_id, entries, seq)
            seq += len(entries)

    with path.open("wb") as out:
        for chunk in audit_log_chunks(chain, records()):
            out.write(chunk)
    return seq, chain.last_hash


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _widen_pipe(pipe: IO[bytes] | None) -> None:
    """Let ``pipe`` hold a whole batch (Linux; elsewhere, or when refused, it stays as it
    is): each batch then goes to the helper in one write, not a write per 64 KiB."""
    if pipe is None or sys.platform != "linux":
        return
    import fcntl  # Unix only

    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _report(text: bytes) -> tuple[int, str, int | None] | None:
    """The helper's closing report (events, last hash, its peak RSS in KiB), or None when it
    is not one."""
    try:
        report = json.loads(text)
        events, last_hash, peak = report["events"], report["last_hash"], report["peak_rss_kib"]
    except (TypeError, KeyError, ValueError):
        return None
    if type(events) is not int or type(last_hash) is not str or len(last_hash) != 64:
        return None
    return events, last_hash, peak if type(peak) is int else None


class SpooledAudit:
    """A finished spool's audit log: its file, its number of events and its last line's hash.

    The file is removed when this object is dropped, unless :meth:`move_to` moved it first.
    """

    def __init__(
        self, path: Path, events: int, last_hash: str, helper_peak_rss_kib: int | None = None
    ) -> None:
        self.path = path
        self.events = events
        self.last_hash = last_hash
        self.helper_peak_rss_kib = helper_peak_rss_kib  # the helper process's own peak
        self._cleanup = weakref.finalize(self, _remove, path)

    def move_to(self, target: Path) -> bool:
        """Move the file to ``target`` (a rename: the same file system); False when it is gone
        or cannot be renamed there (render the log in process then)."""
        try:
            os.replace(self.path, target)
        except OSError:
            return False
        self._cleanup.detach()
        return True


class AuditSpool:
    """Chains envelope entries into an audit log file in a helper process (see the module).

    ``directory`` holds the file until it is moved (put it on the file system of the run's
    output folder, so the move is a rename). Entries go in with :meth:`send`, in order;
    :meth:`close_input` says there are no more (the helper finishes in the background),
    :meth:`finish` waits for the file, :meth:`abort` throws it away. A spool dropped before
    either stops its helper and removes the file.
    """

    def __init__(
        self,
        directory: Path,
        run_id: uuid.UUID,
        engine_id: str,
        *,
        python: str | None = None,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".audit-", suffix=".jsonl.part", dir=directory)
        os.close(handle)
        self.path = Path(name)
        self._sent = 0
        self._closed = False
        self._done: SpooledAudit | None = None
        self._finished = False
        self._frames: queue.SimpleQueue[tuple[bytes, bytes] | None] = queue.SimpleQueue()
        worker = [python or sys.executable, "-m", "mqk_schemas._audit_worker"]
        try:
            self._process = subprocess.Popen(
                [*worker, name, str(run_id), engine_id],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError:
            _remove(self.path)
            raise
        self._cleanup = weakref.finalize(self, _stop, self._process, self.path, self._frames)
        _widen_pipe(self._process.stdin)
        # a thread of its own writes to the pipe (blocked writes release the GIL), so the run
        # never waits for the helper, which is still starting when the first batch comes
        # (it holds the pipe and the queue, not the spool: a dropped spool is freed at once)
        self._feeder = threading.Thread(
            target=_feed, args=(self._process.stdin, self._frames), name="audit-spool", daemon=True
        )
        self._feeder.start()

    def send(self, entries: Sequence[EnvelopeEntry]) -> None:
        """Queue ``entries`` (the next ones of the run, in order) for the helper."""
        if self._closed:
            raise ValueError("the audit spool's input is closed")
        blob = pickle.dumps(list(entries), protocol=pickle.HIGHEST_PROTOCOL)
        self._frames.put((FRAME_HEAD.pack(len(blob)), blob))
        self._sent += len(entries)

    def close_input(self) -> None:
        """No more entries: the helper writes the rest and ends on its own meanwhile."""
        if not self._closed:
            self._closed = True
            self._frames.put(None)

    def finish(self, timeout: float = FINISH_TIMEOUT_S) -> SpooledAudit | None:
        """Wait for the helper to chain everything sent; the finished file, or None (file
        removed) when the helper failed, timed out or disagrees on the number of events.
        Asked again, the same answer."""
        if self._finished:
            return self._done
        self.close_input()
        self._feeder.join()
        try:
            out = self._communicate(timeout)
        except subprocess.TimeoutExpired:
            self.abort()
            return None
        self._finished = True
        self._cleanup.detach()
        report = _report(out) if self._process.returncode == 0 else None
        if report is None or report[0] != self._sent:
            _remove(self.path)
            return None
        self._done = SpooledAudit(self.path, *report)
        return self._done

    def abort(self) -> None:
        """Stop the helper and remove its file (the run failed or is redone)."""
        self._process.kill()
        self.close_input()
        self._feeder.join()  # a write blocked on the helper fails once it is gone
        self._communicate(None)
        self._finished = True
        self._cleanup.detach()
        _remove(self.path)

    def _communicate(self, timeout: float | None) -> bytes:
        return _communicate(self._process, timeout)


def _feed(stdin: IO[bytes] | None, frames: queue.SimpleQueue[tuple[bytes, bytes] | None]) -> None:
    """The feeder thread: writes each queued frame to the helper, then ends its input."""
    assert stdin is not None
    try:
        while (frame := frames.get()) is not None:
            stdin.write(frame[0])
            stdin.write(frame[1])
        stdin.close()  # the end of the helper's input
    except (OSError, ValueError):  # the helper died or was stopped: finish() tells
        return


def _communicate(process: subprocess.Popen[bytes], timeout: float | None) -> bytes:
    """``process``'s report once it ended (what it printed)."""
    if process.stdin is not None and process.stdin.closed:
        process.stdin = None  # closed by the feeder: nothing left to flush
    out, _ = process.communicate(timeout=timeout)
    return out


def _stop(
    process: subprocess.Popen[bytes],
    path: Path,
    frames: queue.SimpleQueue[tuple[bytes, bytes] | None],
) -> None:
    """A dropped spool's end: its helper stopped and reaped, its feeder thread ended, its
    file removed."""
    if process.poll() is None:
        process.kill()
    frames.put(None)  # a feeder still waiting for frames ends (one past its end is ignored)
    _communicate(process, None)
    _remove(path)
