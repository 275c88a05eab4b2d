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
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

import torch

Item = TypeVar("Item")
Result = TypeVar("Result")


def ordered_map(
    fn: Callable[[Item], Result], items: Iterable[Item], workers: int
) -> Generator[Result, None, None]:
    """``map(fn, items)`` on ``workers`` threads, in order, at most ``workers`` items ahead.

    With more than one worker, torch runs single-threaded for the duration (each worker is
    one core). An item's error is raised when its turn comes; closing the generator early
    cancels the items not yet started and waits for the running ones.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    pending: deque[Future[Result]] = deque()
    with single_threaded_torch(), ThreadPoolExecutor(workers, thread_name_prefix="aefeatures") as pool:
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


@contextlib.contextmanager
def single_threaded_torch() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block; restore the thread count after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


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

    def _run(self) -> None:
        while (entry := self._items.get()) is not None:
            if self._error is None:
                try:
                    self._write(entry[0])
                except BaseException as exc:  # handed to the submitting thread
                    self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
