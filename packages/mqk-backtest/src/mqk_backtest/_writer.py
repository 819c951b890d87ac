"""Files written on a worker thread while the next chunk of them is rendered.

Writing a run's ~150 MB of artifacts is mostly the kernel copying bytes into the page cache;
a ``write`` releases the GIL, so a worker thread doing it overlaps the Python work of rendering
the next chunk. At most ``pending`` chunks wait for the worker (memory stays bounded), and
whatever the worker raises is raised again in the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

__all__ = ["BackgroundWriter"]

_STOP = None
# (file, bytes to write) or (file, None): close it
_Item = tuple[BinaryIO, bytes | None] | None


class BackgroundWriter:
    """A context manager whose :meth:`write_file` queues a file's chunks for a worker thread.

    Leaving the block waits for every queued write; the worker's exception, if any, is raised
    then (or at the next :meth:`write_file` chunk). An exception in the block stops the worker
    after it closes the files it was given; that exception is the one raised.
    """

    def __init__(self, pending: int = 2) -> None:
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=pending)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mqk-artifact-writer", daemon=True)

    def __enter__(self) -> BackgroundWriter:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._queue.put(_STOP)
        self._thread.join()
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

    def _put(self, item: _Item) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            handle, data = item
            try:
                if data is None:
                    handle.close()
                elif self._error is None:
                    handle.write(data)
            except BaseException as exc:  # handed to the caller's thread
                if self._error is None:
                    self._error = exc
