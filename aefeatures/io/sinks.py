"""Writing outputs atomically and safely: a temporary sibling, then one rename; never a partial file.

Three rules hold for every output aefeatures writes (model directories, checkpoints, MLflow
exports, Parquet outputs, reports, schema files, ONNX exports), all enforced here:

* **Inputs are never written.** An output path that is, or is a directory holding, one of the
  command's inputs is refused, with or without overwriting (both resolved, so links count).
* **Overwriting replaces only what aefeatures wrote, of the same kind.** An existing path is
  replaced only when overwriting was asked for *and* it is recognisably an aefeatures artifact
  of the kind being written (:func:`aefeatures.io.artifacts.artifact_kind`): a model directory holding only the files
  of a model, a checkpoint directory, an MLflow export of the aefeatures flavor, a table output
  (a Parquet file or directory of Parquet files carrying the ``aefeatures`` key-value marker,
  :mod:`aefeatures.io.formats`), an aefeatures report, schema file or ONNX export. A user's file or
  directory, a directory with files of its own, a symbolic link, or a file where a directory
  goes (or the reverse) is never replaced.
* **No run silently replaces another.** Without overwriting, the final step is a no-replace
  rename (``renameat2(RENAME_NOREPLACE)``, else a hard link for a file or a claimed empty
  directory for a directory): when two runs race for the same absent path, one wins and the
  other fails with :class:`~aefeatures.errors.OutputExistsError`, leaving the winner's output.

Table outputs written batch by batch go through :mod:`aefeatures.io.writers`, which uses
:func:`atomic_path`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob as globlib
import hashlib
import os
import shlex
import signal
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from aefeatures.errors import AEFeaturesError, DataError, Interrupted, OutputExistsError, shorten
from aefeatures.io.artifacts import (
    ArtifactKind,
    artifact_kind,
    foreign_entries,
    kind_name,
    output_is_directory,
)
from aefeatures.io.formats import TABLE_FORMATS
from aefeatures.io.listing import HIDDEN, OTHER_FORMATS, OTHER_PARQUET_SUFFIXES, PARQUET_SUFFIX
from aefeatures.io.published import PROGRESS
from aefeatures.io.renames import fsync, fsync_tree, place_new, remove, swap

Inputs = Iterable[object]
"""What a command reads: paths (files, directories, globs); other objects (frames) are ignored."""


# --- the checks ------------------------------------------------------------------------------------


def check_output(
    path: str | Path, overwrite: bool, *, kind: ArtifactKind | None = None, inputs: Inputs = ()
) -> Path:
    """Fail early, before any work, if ``path`` cannot be written or must not be replaced.

    Parameters
    ----------
    path
        The output path.
    overwrite
        Whether an existing output may be replaced (only one aefeatures wrote, of ``kind``).
    kind
        What will be written there; ``None`` accepts an existing artifact of any kind (the final
        rename in :func:`atomic_path` checks again with the kind of what was written).
    inputs
        The command's inputs: the output may neither be one nor hold one.
    """
    if isinstance(path, str) and not path.strip():
        raise DataError(
            "the output path is empty (''): it would be read as the current directory.",
            hint="give the output a path, e.g. --output ./features.parquet",
        )
    target = Path(path)
    _refuse_unreadable_name(target, kind)
    inputs = list(inputs)
    sources = _input_paths(inputs)
    _refuse_inputs(target, sources)
    _refuse_globbed(target, inputs, kind)
    _refuse_unsafe(target, overwrite, kind, sources, directory=output_is_directory(kind))
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(
            f"the directory {str(parent)!r} for {str(target)!r} does not exist.",
            hint=f"create it first: mkdir -p {shlex.quote(str(parent))}",
        )
    if not os.access(parent, os.W_OK):
        raise DataError(
            f"the directory {str(parent)!r} is not writable.", hint="choose an output path you can write to"
        )
    return target


@contextlib.contextmanager
def atomic_path(
    path: str | Path, overwrite: bool, *, kind: ArtifactKind | None = None, inputs: Inputs = ()
) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; on success it becomes ``path`` in one rename.

    Works for files and directories. On any error the temporary is removed and ``path`` is left
    as it was. ``kind`` and ``inputs`` are those of :func:`check_output`; when ``kind`` is not
    given it is read from what was written (:func:`artifact_kind` of the temporary). Without
    ``overwrite``, a ``path`` that another run created meanwhile is never replaced: this run
    fails with :class:`~aefeatures.errors.OutputExistsError` instead.
    """
    if PROGRESS.held is not None:  # a stop deferred after an earlier output: it acts before this one
        raise Interrupted(PROGRESS.held)
    inputs = list(inputs)
    target = check_output(path, overwrite, kind=kind, inputs=inputs)
    sources = _input_paths(inputs)
    temporary = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    PROGRESS.writing += 1
    writing = True
    try:
        yield temporary
        fsync_tree(temporary)
        written = kind or artifact_kind(temporary, name=target.name)
        with _signals_held():  # a Ctrl-C or SIGTERM lands after the renames, not between them
            PROGRESS.publishing = True
            try:
                _publish(temporary, target, overwrite, written, sources)
            finally:
                PROGRESS.publishing = False
            PROGRESS.writing -= 1  # recorded before the held signals are delivered
            writing = False
            if written != "checkpoint":  # a checkpoint is a step of a fit, not its output
                PROGRESS.published.append(target)
            else:
                PROGRESS.checkpoint = target
        if PROGRESS.held is not None and written == "checkpoint":  # held during a checkpoint's renames
            raise Interrupted(PROGRESS.held)
    except AEFeaturesError:
        raise
    except OSError as exc:  # a full disk, a read-only or special file system, a lost mount
        raise DataError(
            f"cannot write {str(target)!r}: {exc.strerror or exc}.",
            hint="choose an output path on a writable file system with free space",
        ) from exc
    finally:
        if writing:
            PROGRESS.writing -= 1
        remove(temporary)


def _refuse_unsafe(
    target: Path, overwrite: bool, kind: str | None, inputs: list[Path], *, directory: bool | None
) -> None:
    """Raise :class:`OutputExistsError` unless writing ``target`` loses nothing that must be kept."""
    _refuse_inputs(target, inputs)
    if not os.path.lexists(target):
        return
    reason = _not_replaceable(target, kind, directory)
    if not overwrite:
        hint = (
            "pass --overwrite (overwrite=True) to replace it, or choose another path"
            if reason is None
            else f"choose another path; --overwrite would not replace it either: {reason}"
        )
        raise OutputExistsError(f"{str(target)!r} already exists.", hint=hint)
    if reason is not None:
        raise OutputExistsError(
            f"{str(target)!r} exists and is not replaced, even with --overwrite (overwrite=True): {reason}.",
            hint="choose another output path, or move or delete it yourself if you no longer need it",
        )


def refuse_inputs(path: str | Path, inputs: Inputs) -> None:
    """Raise :class:`OutputExistsError` when ``path`` is, or is a directory holding, one of ``inputs``.

    For writers that do not go through :func:`atomic_path` (Spark's own committer, say).
    """
    inputs = list(inputs)
    _refuse_inputs(Path(path), _input_paths(inputs))
    _refuse_globbed(Path(path), inputs, None)


def _refuse_globbed(target: Path, inputs: list[object], kind: ArtifactKind | None) -> None:
    """Refuse an output that an input glob would pick up (itself, or files a directory output holds):
    every later run over the same glob would read it as data. Outputs that are never data (a
    model, a report, a schema) are left to the other checks; ``None`` may be a table."""
    if kind is not None and kind not in TABLE_FORMATS:
        return
    absolute = Path(os.path.abspath(target)).parts
    globs = [str(i) for i in inputs if isinstance(i, (str, Path)) and globlib.has_magic(str(i))]
    for pattern in (g for g in globs if not os.path.lexists(g)):  # a name with '[' is no glob
        if _may_match(Path(os.path.abspath(pattern)).parts, absolute):
            raise OutputExistsError(
                f"the output path {shorten(repr(str(target)))} is matched by the input glob "
                f"{shorten(repr(pattern))}: every later run over that glob would read the output as data.",
                hint="choose an output path the glob does not match (outside the input data)",
            )


def _refuse_unreadable_name(target: Path, kind: ArtifactKind | None) -> None:
    """A table output named like a CSV (or another format) would hold Parquet under that name; one
    named ``_x``, ``.x`` or ``x.PARQUET`` would be skipped or refused when its directory is read."""
    if kind != "parquet":
        return
    if target.name.startswith(HIDDEN) or (
        target.suffix.lower() in OTHER_PARQUET_SUFFIXES and target.suffix != PARQUET_SUFFIX
    ):
        fixed = target.with_name(target.name.lstrip("_.")).with_suffix(PARQUET_SUFFIX)
        raise DataError(
            f"the output {str(target)!r} would not be read back as data where its directory is read: "
            "names starting with '_' or '.' are skipped, and Parquet files must end in '.parquet'.",
            hint=f"name it {str(fixed)!r}",
        )
    other = OTHER_FORMATS.get(target.suffix.lower())
    if other is not None:
        parquet = target.with_suffix(PARQUET_SUFFIX)
        raise DataError(
            f"the output {str(target)!r} is named like {other.a_name} file, but aefeatures writes Parquet.",
            hint=f"name it {str(parquet)!r}; if you need {other.name}, convert it afterwards with polars: "
            f"pl.read_parquet({str(parquet)!r}).{other.write}({str(target)!r})",
        )


def _refuse_inputs(target: Path, inputs: list[Path]) -> None:
    resolved = target.resolve()
    for source in inputs:
        inside = source.is_dir() and source in resolved.parents  # a later run would read it as input
        if source == resolved or resolved in source.parents or inside:
            what = (
                "is"
                if source == resolved
                else f"is inside {str(source)!r},"
                if inside
                else f"is a directory holding {str(source)!r},"
            )
            raise OutputExistsError(
                f"the output path {str(target)!r} {what} an input of this command; "
                "writing there would destroy the data being read.",
                hint="choose an output path outside the input data",
            )


def _not_replaceable(target: Path, kind: str | None, directory: bool | None) -> str | None:
    """Why an existing ``target`` must not be replaced by an output of ``kind``; ``None`` if it may."""
    if target.is_symlink():
        return "it is a symbolic link, which aefeatures never replaces"
    is_dir = target.is_dir()
    if directory is not None and is_dir != directory:
        return (
            "it is a directory and the output is a file"
            if is_dir
            else "it is a file and the output is a directory"
        )
    found = artifact_kind(target)
    if found is None:
        what = "directory" if is_dir else "file"
        extra = foreign_entries(target) if is_dir else ""
        return f"aefeatures did not write this {what}{extra}"
    if kind is not None and found != kind:
        return f"it is {kind_name(found)}, not {kind_name(kind)}"
    return None


def _may_match(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """Whether the glob ``pattern`` (its parts) matches ``path``, or something below it."""
    if not path:
        return True  # the pattern goes on below the output: what the output holds may match
    if not pattern:
        return False
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return _may_match(rest, path) or _may_match(pattern, path[1:])
    return fnmatch.fnmatchcase(path[0], head) and _may_match(rest, path[1:])


def _input_paths(inputs: Inputs) -> list[Path]:
    """The resolved paths of ``inputs`` that name files: each path, and what each glob matches."""
    paths: list[Path] = []
    for item in inputs:
        if isinstance(item, Path):
            paths.append(item)
        elif isinstance(item, str):
            paths.append(Path(item))
            if globlib.has_magic(item):
                paths += [Path(p) for p in globlib.glob(item, recursive=True)]
    return sorted({Path(os.path.realpath(p)) for p in paths})  # a symbolic link loop stays as it is


# --- publishing --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (delivered on exit) in the main thread; elsewhere do nothing."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _publish(temporary: Path, target: Path, overwrite: bool, kind: str | None, inputs: list[Path]) -> None:
    directory = temporary.is_dir()
    if not os.path.lexists(target) and place_new(temporary, target, directory):
        fsync(target.parent)
        return
    if not overwrite:
        raise OutputExistsError(
            f"{str(target)!r} already exists: another run created it while this one was writing.",
            hint="nothing was replaced and this run's output was discarded; "
            "choose another path, or pass --overwrite (overwrite=True) to replace it",
        )
    _refuse_unsafe(target, True, kind, inputs, directory=directory)
    swap(temporary, target, directory)
    fsync(target.parent)  # the rename itself, not the rest of the directory


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
