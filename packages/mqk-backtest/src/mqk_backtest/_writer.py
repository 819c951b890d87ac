"""Files written on worker threads while the next chunk of them is rendered.

Writing a run's ~150 MB of artifacts is mostly the kernel copying bytes into the page cache;
a ``write`` releases the GIL, so a worker thread doing it overlaps the Python work of rendering
the next chunk. At most ``pending`` chunks wait for the worker (memory stays bounded), and
whatever the worker raises is raised again in the caller. A file whose rendering itself runs
without the GIL (polars' CSV writer) gets a thread of its own, rendering and writing it a part
at a time while the caller renders the other files.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

__all__ = ["BackgroundWriter", "FileParts"]

_STOP = None
# (file, bytes to write) or (file, None): close it
_Item = tuple[BinaryIO, bytes | None] | None

FileParts = Callable[[BinaryIO], Iterable[object]]
"""Writes a whole file into the open handle it is given, one step of the iterable per part."""


class BackgroundWriter:
    """A context manager whose :meth:`write_file` queues a file's chunks for a worker thread
    and whose :meth:`write_file_in_thread` has a file written by a thread of its own.

    Leaving the block waits for every thread; the first exception a thread raised, if any, is
    raised then (or at the next :meth:`write_file` chunk). An exception in the block stops the
    threads (the worker after it closes the files it was given, a file's own thread at its next
    part); that exception is the one raised. No thread outlives the block.
    """

    def __init__(self, pending: int = 2) -> None:
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=pending)
        self._error: BaseException | None = None
        self._failed = threading.Lock()
        self._stop_parts = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mqk-artifact-writer", daemon=True)
        self._part_threads: list[threading.Thread] = []

    def __enter__(self) -> BackgroundWriter:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is not None:
            self._stop_parts.set()
        self._queue.put(_STOP)
        self._thread.join()
        for thread in self._part_threads:
            thread.join()
        if error is None and self._error is not None:
            raise self._error

    def write_file(self, path: Path, chunks: Iterable[bytes]) -> None:
        """Create ``path`` and have the worker write ``chunks`` (rendered here, one at a time)
        into it, in order."""
        handle = path.open("wb")
        try:
            for chunk in chunks:
                self._put((handle, chunk))
        finally:
            self._queue.put((handle, None))

    def write_file_in_thread(self, path: Path, parts: FileParts) -> None:
        """Create ``path`` and have a new thread call ``parts`` with it open, while this one
        goes on; the thread stops between parts once the block or another thread failed."""
        handle = path.open("wb")
        thread = threading.Thread(
            target=self._write_parts,
            args=(handle, parts),
            name=f"mqk-artifact-writer-{path.name}",
            daemon=True,
        )
        self._part_threads.append(thread)
        thread.start()

    def _put(self, item: _Item) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def _fail(self, error: BaseException) -> None:
        """Keep the first error any thread raised (handed to the caller's thread)."""
        with self._failed:
            if self._error is None:
                self._error = error
        self._stop_parts.set()

    def _write_parts(self, handle: BinaryIO, parts: FileParts) -> None:
        try:
            with handle:
                for _ in parts(handle):
                    if self._stop_parts.is_set():
                        break
        except BaseException as exc:
            self._fail(exc)

    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            handle, data = item
            try:
                if data is None:
                    handle.close()
                elif self._error is None:
                    handle.write(data)
            except BaseException as exc:
                self._fail(exc)
