"""Overlapping the stages of a batch job: batches scored on several threads, written behind.

On a CPU, one batch's pure-Python and single-threaded steps (validation, encoding, building
columns) leave cores idle that torch's intra-op threads cannot fill. Scoring whole batches
on separate threads, each running torch single-threaded, and writing in another thread
keeps every core busy: the numeric libraries release the GIL while they work.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from aefeatures.devices import one_thread

Item = TypeVar("Item")
Result = TypeVar("Result")


def ordered_map(
    fn: Callable[[Item], Result], items: Iterable[Item], workers: int
) -> Generator[Result, None, None]:
    """``map(fn, items)`` on ``workers`` threads, in order, at most ``workers`` items ahead.

    With more than one worker, torch runs single-threaded for the duration (each worker is
    one core). An item's error is raised when its turn comes. Whatever ends the generator
    early (closing it, an error, :class:`~aefeatures.errors.Interrupted` from SIGTERM raised in
    the waiting main thread) stops the pool before the exception goes on: the items not yet
    started are cancelled and the running ones (at most ``workers``) are waited for, so no
    thread is left writing after the caller has removed its temporary output.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    pending: deque[Future[Result]] = deque()
    with one_thread():
        pool = ThreadPoolExecutor(workers, thread_name_prefix="aefeatures")
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            _stop(pool, pending)


def _stop(pool: ThreadPoolExecutor, pending: deque[Future[Any]]) -> None:
    """Cancel the items not started and wait for the running ones."""
    for future in pending:
        future.cancel()
    pool.shutdown(wait=True, cancel_futures=True)


class WriteBehind(Generic[Item]):
    """Runs ``write`` on submitted items in one background thread, at most ``depth`` items behind.

    Parquet encoding and compression release the GIL, so the next batch is computed while
    the previous one is written. An error in ``write`` is raised by the next ``submit`` or by
    ``close``; items after a failed one are dropped.
    """

    def __init__(self, write: Callable[[Item], None], depth: int = 1) -> None:
        self._write = write
        self._items: queue.Queue[tuple[Item] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="aefeatures-writer", daemon=True)
        self._thread.start()

    def submit(self, item: Item) -> None:
        """Queue ``item`` (waits while ``depth`` items are pending)."""
        self._raise_error()
        self._items.put((item,))

    def close(self) -> None:
        """Wait for every queued item to be written; raise the writer's error, if any."""
        if self._thread.is_alive():
            self._items.put(None)
            self._thread.join()
        self._raise_error()

    def cancel(self) -> None:
        """Drop the queued items, wait for the one being written, end the thread; raise nothing.

        For a job that failed or was interrupted: its output is discarded, so writing the
        rest would only delay the clean-up.
        """
        self._cancelled = True
        with contextlib.suppress(queue.Full):
            while True:  # make room for the end marker: the thread skips what is left anyway
                try:
                    self._items.get_nowait()
                except queue.Empty:
                    break
            self._items.put_nowait(None)
        self._thread.join()
        self._error = None

    def _run(self) -> None:
        while (entry := self._items.get()) is not None:
            if self._error is None and not self._cancelled:
                try:
                    self._write(entry[0])
                except BaseException as exc:  # handed to the submitting thread
                    self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
