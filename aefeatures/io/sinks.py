"""Writing outputs atomically and safely: a temporary sibling, then one rename; never a partial file.

Three rules hold for every output aefeatures writes (model directories, checkpoints, MLflow
exports, Parquet outputs, reports, schema files, ONNX exports), all enforced here:

* **Inputs are never written.** An output path that is, or is a directory holding, one of the
  command's inputs is refused, with or without overwriting (both resolved, so links count).
* **Overwriting replaces only what aefeatures wrote, of the same kind.** An existing path is
  replaced only when overwriting was asked for *and* it is recognisably an aefeatures artifact
  of the kind being written (:func:`artifact_kind`): a model directory holding only the files
  of a model, a checkpoint directory, an MLflow export of the aefeatures flavor, a Parquet file
  or directory of Parquet files carrying the ``aefeatures`` key-value marker
  (:data:`MARKER_KEY`), an aefeatures report, schema file or ONNX export. A user's file or
  directory, a directory with files of its own, a symbolic link, or a file where a directory
  goes (or the reverse) is never replaced.
* **No run silently replaces another.** Without overwriting, the final step is a no-replace
  rename (``renameat2(RENAME_NOREPLACE)``, else a hard link for a file or a claimed empty
  directory for a directory): when two runs race for the same absent path, one wins and the
  other fails with :class:`~aefeatures.errors.OutputExistsError`, leaving the winner's output.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import glob as globlib
import hashlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from aefeatures.errors import AEFeaturesError, DataError, OutputExistsError

ArtifactKind = Literal["model", "checkpoint", "mlflow", "parquet", "report", "schema", "onnx"]

MARKER_KEY = "aefeatures"
"""Parquet file-level key-value metadata key that every aefeatures Parquet writer sets."""
MARKER = {"format": "aefeatures-output", "version": 1}

KIND_NAMES: dict[str, str] = {
    "model": "an aefeatures model directory",
    "checkpoint": "an aefeatures training checkpoint directory",
    "mlflow": "an MLflow export of an aefeatures model",
    "parquet": "Parquet output written by aefeatures",
    "report": "an aefeatures model report",
    "schema": "a schema file written by 'aefeatures schema infer'",
    "onnx": "an ONNX export of an aefeatures model",
}
_DIRECTORY_KINDS = {"model", "checkpoint", "mlflow"}
_FILE_KINDS = {"report", "schema", "onnx"}

# What each kind of directory holds when aefeatures wrote it (the model's files are also listed in
# its manifest). Written here rather than imported: model/files.py and fitting/checkpoint.py import
# this module.
_MODEL_MANIFEST, _MODEL_FORMAT, _MODEL_FILES = "aefeatures.json", "aefeatures-model", {"report.html"}
_CHECKPOINT_STATE, _CHECKPOINT_FORMAT = "state.json", "aefeatures-checkpoint"
_CHECKPOINT_FILES = {"state.json", "state.safetensors"}
_MLMODEL, _MLFLOW_FLAVOR = "MLmodel", "aefeatures"
_MLFLOW_FILES = {  # what mlflow writes next to MLmodel and the model directory (code: --code-paths copies)
    _MLMODEL, "requirements.txt", "python_env.yaml", "conda.yaml", "input_example.json",
    "serving_input_example.json", "registered_model_meta", "metadata", "code",
}  # fmt: skip
_REPORT_SIGNATURE = ("<!DOCTYPE html>", "<title>aefeatures model:")
_SCHEMA_SIGNATURE = "inferred by aefeatures"

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
    target = Path(path)
    _refuse_unsafe(target, overwrite, kind, _input_paths(inputs), directory=_shape(kind))
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(
            f"the directory {str(parent)!r} for {str(target)!r} does not exist.",
            hint=f"create it first: mkdir -p {parent}",
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
    sources = _input_paths(inputs)
    target = check_output(path, overwrite, kind=kind, inputs=sources)
    temporary = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield temporary
        _fsync_tree(temporary)
        written = kind or artifact_kind(temporary, name=target.name)
        _publish(temporary, target, overwrite, written, sources)
    except AEFeaturesError:
        raise
    except OSError as exc:  # a full disk, a read-only or special file system, a lost mount
        raise DataError(
            f"cannot write {str(target)!r}: {exc.strerror or exc}.",
            hint="choose an output path on a writable file system with free space",
        ) from exc
    finally:
        _remove(temporary)


def write_parquet(frame: pl.DataFrame, path: str | Path, overwrite: bool, *, inputs: Inputs = ()) -> Path:
    """Write ``frame`` to ``path`` atomically, marked as aefeatures output (:data:`MARKER_KEY`)."""
    with atomic_path(path, overwrite, kind="parquet", inputs=inputs) as temporary:
        frame.write_parquet(temporary, metadata=parquet_marker())
    return Path(path)


def parquet_marker() -> dict[str, str]:
    """The Parquet key-value metadata that marks a file as aefeatures output."""
    return {MARKER_KEY: json.dumps(MARKER)}


def mark_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with the aefeatures marker added: pass it to ``pyarrow.parquet.ParquetWriter``."""
    return schema.with_metadata({**(schema.metadata or {}), **parquet_marker()})


def artifact_kind(path: str | Path, *, name: str | None = None) -> ArtifactKind | None:
    """Which aefeatures artifact ``path`` is, or ``None`` when aefeatures did not write it.

    A directory counts only when it holds nothing but what aefeatures wrote there. ``name``
    stands for the file name where it matters (a temporary's final name).
    """
    target = Path(path)
    suffix = Path(name or target.name).suffix
    if target.is_symlink():
        return None
    if target.is_dir():
        if _is_model_dir(target):
            return "model"
        if _is_checkpoint_dir(target):
            return "checkpoint"
        if _is_mlflow_dir(target):
            return "mlflow"
        return "parquet" if _is_parquet_dir(target) else None
    if not target.is_file():
        return None
    detectors: tuple[tuple[ArtifactKind, Callable[[Path, str], bool]], ...] = (
        ("parquet", lambda path, _: _is_marked_parquet(path)),
        ("report", lambda path, _: _is_report(path)),
        ("schema", _is_schema_file),
        ("onnx", _is_onnx),
    )
    return next((kind for kind, detect in detectors if detect(target, suffix)), None)


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
    _refuse_inputs(Path(path), _input_paths(inputs))


def _refuse_inputs(target: Path, inputs: list[Path]) -> None:
    resolved = target.resolve()
    for source in inputs:
        if source == resolved or resolved in source.parents:
            what = "is" if source == resolved else f"is a directory holding {str(source)!r},"
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
        extra = _foreign_entries(target) if is_dir else ""
        return f"aefeatures did not write this {what}{extra}"
    if kind is not None and found != kind:
        return f"it is {KIND_NAMES[found]}, not {KIND_NAMES[kind]}"
    return None


def _foreign_entries(directory: Path) -> str:
    """For a directory that looks like an aefeatures one: the entries it should not hold."""
    allowed: set[str] | None = None
    if _format_of(directory / _MODEL_MANIFEST) == _MODEL_FORMAT:
        allowed = _model_entries(directory)
    elif _format_of(directory / _CHECKPOINT_STATE) == _CHECKPOINT_FORMAT:
        allowed = _CHECKPOINT_FILES
    if allowed is None:
        return ""
    extra = sorted(p.name for p in directory.iterdir() if p.name not in allowed)
    return f" (it holds files of its own: {', '.join(extra[:5])})" if extra else ""


def _shape(kind: str | None) -> bool | None:
    if kind in _DIRECTORY_KINDS:
        return True
    return False if kind in _FILE_KINDS else None


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
    return sorted({p.resolve() for p in paths})


# --- recognising what aefeatures wrote ---------------------------------------------------------------


def _format_of(manifest: Path) -> object:
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record.get("format") if isinstance(record, dict) else None


def _model_entries(directory: Path) -> set[str]:
    try:
        files = json.loads((directory / _MODEL_MANIFEST).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        files = {}
    return {_MODEL_MANIFEST, *_MODEL_FILES, *(files if isinstance(files, dict) else {})}


def _only_regular_files(directory: Path, allowed: set[str]) -> bool:
    entries = list(directory.iterdir())
    return all(p.name in allowed and p.is_file() and not p.is_symlink() for p in entries)


def _is_model_dir(directory: Path) -> bool:
    return _format_of(directory / _MODEL_MANIFEST) == _MODEL_FORMAT and _only_regular_files(
        directory, _model_entries(directory)
    )


def _is_checkpoint_dir(directory: Path) -> bool:
    return _format_of(directory / _CHECKPOINT_STATE) == _CHECKPOINT_FORMAT and _only_regular_files(
        directory, _CHECKPOINT_FILES
    )


def _is_mlflow_dir(directory: Path) -> bool:
    """An MLflow model directory of the aefeatures flavor, holding what an MLflow export writes."""
    try:
        import yaml

        flavors = yaml.safe_load((directory / _MLMODEL).read_text(encoding="utf-8")).get("flavors") or {}
        model_data = str(flavors[_MLFLOW_FLAVOR].get("model_data", "model"))
    except Exception:  # no MLmodel, not YAML, not of this flavor
        return False
    if Path(model_data).name != model_data or not _is_model_dir(directory / model_data):
        return False
    return all(p.name in _MLFLOW_FILES | {model_data} for p in directory.iterdir())


def _is_parquet_dir(directory: Path) -> bool:
    """A directory of marked Parquet files (a partitioned transform output) and nothing else."""
    files = []
    for root, dirs, names in os.walk(directory):
        if any(Path(root, d).is_symlink() for d in dirs):
            return False
        files += [Path(root, name) for name in names]
    return bool(files) and all(f.suffix == ".parquet" and _is_marked_parquet(f) for f in files)


def _is_marked_parquet(path: Path) -> bool:
    if path.is_symlink() or _head(path, 4) != b"PAR1":
        return False
    try:
        metadata = pq.read_metadata(path).metadata or {}
    except (OSError, pa.ArrowException):
        return False
    return MARKER_KEY.encode() in metadata


def _is_report(path: Path) -> bool:
    text = _head(path, 4096).decode("utf-8", errors="replace")
    return text.startswith(_REPORT_SIGNATURE[0]) and _REPORT_SIGNATURE[1] in text


def _is_schema_file(path: Path, suffix: str) -> bool:
    first_line = _head(path, 512).decode("utf-8", errors="replace").partition("\n")[0]
    return suffix in (".yaml", ".yml") and first_line.startswith("#") and _SCHEMA_SIGNATURE in first_line


def _is_onnx(path: Path, suffix: str) -> bool:
    if suffix != ".onnx":  # parsing is only tried on files named as ONNX files
        return False
    try:
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
    except Exception:  # not installed, or not an ONNX file
        return False
    return any(prop.key.startswith("aefeatures.") for prop in proto.metadata_props)


def _head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


# --- publishing --------------------------------------------------------------------------------------


def _publish(temporary: Path, target: Path, overwrite: bool, kind: str | None, inputs: list[Path]) -> None:
    directory = temporary.is_dir()
    if not os.path.lexists(target) and _place_new(temporary, target, directory):
        _fsync(target.parent)
        return
    if not overwrite:
        raise OutputExistsError(
            f"{str(target)!r} already exists: another run created it while this one was writing.",
            hint="nothing was replaced and this run's output was discarded; "
            "choose another path, or pass --overwrite (overwrite=True) to replace it",
        )
    _refuse_unsafe(target, True, kind, inputs, directory=directory)
    _swap(temporary, target, directory)
    _fsync(target.parent)  # the rename itself, not the rest of the directory


def _place_new(temporary: Path, target: Path, directory: bool) -> bool:
    """Rename ``temporary`` to ``target`` unless something is there; ``False`` when it is."""
    try:
        if _renameat2(temporary, target, _RENAME_NOREPLACE):
            return True
        if directory:
            os.mkdir(target)  # claims the name: fails when anything, even an empty directory, is there
            try:
                os.rename(temporary, target)  # replaces only the empty directory claimed above
            except BaseException:
                with contextlib.suppress(OSError):
                    os.rmdir(target)
                raise
            return True
        try:
            os.link(temporary, target)  # fails when the name is taken
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: claim the name, then replace the claim
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            os.replace(temporary, target)
        else:
            os.unlink(temporary)
        return True
    except FileExistsError:
        return False


def _swap(temporary: Path, target: Path, directory: bool) -> None:
    """Replace the existing ``target`` by ``temporary``; the old one ends up at ``temporary`` or gone."""
    if not directory:
        os.replace(temporary, target)
    elif not _renameat2(temporary, target, _RENAME_EXCHANGE):
        # No atomic exchange here: move the old directory aside, then rename the new one in.
        aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, aside)
        os.replace(temporary, target)
        _remove(aside)


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2


@functools.cache
def _libc_renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc before 2.28, musl, no libc symbols
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _renameat2(source: Path, target: Path, flags: int) -> bool:
    """``renameat2(source, target, flags)``: ``True`` when done, ``False`` when not available here.

    Raises ``FileExistsError`` (``RENAME_NOREPLACE`` and ``target`` exists) or another
    ``OSError`` as ``os.rename`` would.
    """
    function = _libc_renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False  # the kernel or the file system does not do this: use the portable way
    raise OSError(code, os.strerror(code), str(target))


def _fsync_tree(path: Path) -> None:
    """Flush a written file, or every file of a written directory, to disk."""
    for item in [*path.rglob("*"), path] if path.is_dir() else [path]:
        _fsync(item)


def _fsync(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        path.unlink()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
