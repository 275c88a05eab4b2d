"""Progress on a terminal, silence in a pipe."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from aefeatures.fitting.training import EpochCallback


@contextlib.contextmanager
def epoch_progress(total_epochs: int | None, *, enabled: bool = True) -> Iterator[EpochCallback | None]:
    """Yield an epoch callback that drives a Rich bar when stderr is a terminal, else ``None``.

    ``total_epochs=None`` (a step budget, sized by the data) shows the epoch count without a total.
    """
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    columns = (
        TextColumn("training"),
        BarColumn(),
        TextColumn("epoch {task.completed}" + ("/{task.total}" if total_epochs is not None else "")),
        TextColumn("{task.fields[loss]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("training", total=total_epochs, loss="")

        def on_epoch(epoch: int, record: dict[str, float]) -> None:
            loss = record.get("valid_loss", record["train_loss"])
            progress.update(task, completed=epoch, loss=f"loss {loss:.4f}")

        yield on_epoch
