"""What this process has published: whether a stop signal may still remove anything.

:func:`aefeatures.io.sinks.atomic_path` records here each output it publishes and each one it is
writing; the command line's signal handler asks :func:`hold_stop` whether a SIGINT or SIGTERM
arriving now stops the command (an output is unfinished: it is removed, exit 130 or 143) or waits
for it to end (its output is complete and published: exit 0).

Examples
--------
>>> begin_command()
>>> published_outputs(), hold_stop(15)
([], False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aefeatures.errors import Interrupted


@dataclass
class Progress:
    """The outputs of the current command: published, being written, and a stop held back."""

    published: list[Path] = field(default_factory=list)
    checkpoint: Path | None = None
    writing: int = 0
    publishing: bool = False
    held: int | None = None


PROGRESS = Progress()


def begin_command() -> None:
    """Forget the outputs of an earlier command of this process (the CLI calls it first)."""
    PROGRESS.published.clear()
    PROGRESS.checkpoint = None
    PROGRESS.writing, PROGRESS.publishing, PROGRESS.held = 0, False, None


def hold_stop(signum: int) -> bool:
    """Whether a stop signal (SIGINT, SIGTERM) arriving now waits for the command to end.

    It waits during the renames that publish an output (signals delivered to another thread
    are not held back by the signal mask), and once the command has published an output and is
    writing no other: the output is complete, so the command finishes (exit 0) rather than
    report it removed. A later output (:func:`atomic_path`) raises
    :class:`~aefeatures.errors.Interrupted` before it starts.
    """
    if PROGRESS.publishing or (PROGRESS.published and PROGRESS.writing == 0):
        PROGRESS.held = signum
        return True
    return False


def held_stop() -> int | None:
    """The stop signal held back by :func:`hold_stop` during this command, if any."""
    return PROGRESS.held


def published_outputs() -> list[Path]:
    """The outputs this command has published so far (checkpoints left out)."""
    return list(PROGRESS.published)


def written_checkpoint() -> Path | None:
    """The checkpoint this command last wrote (a stopped fit keeps it for ``--resume``), if any."""
    return PROGRESS.checkpoint


def more_outputs_follow() -> None:
    """The outputs published so far are not the command's last: stop signals act at once again."""
    if PROGRESS.held is not None:
        raise Interrupted(PROGRESS.held)
    PROGRESS.published.clear()
