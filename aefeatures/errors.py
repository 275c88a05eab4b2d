"""Exceptions raised by aefeatures.

Each error subclasses the built-in it stands for, so ``except ValueError`` keeps
working, and carries a message that names the column, the problem and the fix.
The CLI maps every :class:`AEFeaturesError` to exit code 1, and :class:`Interrupted` (SIGINT,
SIGTERM) to 128 + the signal number.
"""

from __future__ import annotations

MAX_QUOTED = 200
"""The most characters of one value (a name, a path, a parser's message) that a message quotes."""
MAX_MESSAGE = 4000
"""The most characters of a whole message (and of its hint): a hostile value never floods stderr."""


def shorten(text: str, limit: int = MAX_QUOTED) -> str:
    """``text``, cut after ``limit`` characters with how many more there were.

    Examples
    --------
    >>> shorten("x" * 250)[-34:]
    'xxxxxxxxxx... (50 more characters)'
    >>> shorten("short")
    'short'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def leave_out(*names: str) -> str:
    """A hint's way to leave columns out of a fit that works when followed, on the command line
    (each name shell-quoted, one ``--exclude`` each) and in Python (``exclude=[...]``).

    A name the command line cannot give (empty, with a comma, or with spaces around it, which
    ``--exclude`` splits on or strips) gets the Python form only.

    Examples
    --------
    >>> leave_out("income")
    "--exclude income (exclude=['income'] in Python)"
    >>> leave_out("my col", "a,b")
    "exclude=['my col', 'a,b'] in Python (the command line cannot name 'a,b': rename it)"
    """
    import shlex

    python = f"exclude={[shorten(n, 80) for n in names]!r}"
    awkward = next((n for n in names if not n or "," in n or n.strip() != n), None)
    if awkward is not None:
        return f"{python} in Python (the command line cannot name {shorten(awkward, 80)!r}: rename it)"
    return " ".join(f"--exclude {shlex.quote(shorten(n, 80))}" for n in names) + f" ({python} in Python)"


class AEFeaturesError(Exception):
    """Base class of every error aefeatures raises on purpose.

    The message and the hint are each cut at :data:`MAX_MESSAGE` characters (:func:`shorten`).
    """

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(shorten(message, MAX_MESSAGE))
        self.hint = shorten(hint, MAX_MESSAGE)
        self.details: dict[str, object] = {}  # more fields of the CLI's --json failure object

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\nHint: {self.hint}" if self.hint else text


class DataError(AEFeaturesError, ValueError):
    """Input data cannot be read or used (missing file, empty table, bad values)."""


class InfiniteValuesError(DataError):
    """A numeric feature holds +/-inf; ``column`` names it, ``row`` is the first one's row in the
    checked table (``None`` when unknown)."""

    def __init__(self, message: str, *, column: str, row: int | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.column = column
        self.row = row

    def in_file(self, file: object, row: int) -> InfiniteValuesError:
        """The same error, located at ``row`` (from 0) of the Parquet file ``file``."""
        return InfiniteValuesError(
            f"column {self.column!r} has infinite values: the first is at row {row} of "
            f"{shorten(repr(str(file)))} (rows counted from 0 in that file).",
            column=self.column,
            row=row,
            hint=self.hint,
        )


class SchemaValidationError(DataError):
    """Input data does not conform to the model's pandera schema."""

    def __init__(self, message: str, *, failures: list[dict[str, object]], hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.failures = failures
        self.details["failures"] = failures


class DriftError(DataError):
    """Input data drifted from the training data and ``on_drift="fail"`` was asked for."""


class ModelFileError(AEFeaturesError, OSError):
    """A model directory is missing, incomplete, tampered with or of an unknown format."""


class OutputExistsError(AEFeaturesError, FileExistsError):
    """An output path exists and overwriting was not asked for."""


class ConfigError(AEFeaturesError, ValueError):
    """A parameter has a value outside what is allowed."""


class NotFittedError(AEFeaturesError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class Interrupted(BaseException):
    """The command line was asked to stop by a signal (SIGINT: Ctrl-C, or SIGTERM).

    A ``BaseException``, like ``KeyboardInterrupt``, so no ``except Exception`` swallows it:
    it unwinds the stack, so every ``finally`` runs and unfinished outputs (the hidden
    temporaries of :func:`aefeatures.io.sinks.atomic_path`) are removed on the way out.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
