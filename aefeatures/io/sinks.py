"""Writing outputs atomically: a temporary sibling, then one rename; never a partial file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from aefeatures.errors import AEFeaturesError, DataError, OutputExistsError


def check_output(path: str | Path, overwrite: bool) -> Path:
    """Fail early, before any work, if ``path`` cannot be written."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(
            f"{str(target)!r} already exists.", hint="pass --overwrite to replace it, or choose another path"
        )
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
def atomic_path(path: str | Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; on success it replaces ``path`` in one rename.

    Works for files and directories. On any error the temporary is removed and ``path``
    is left as it was.
    """
    target = check_output(path, overwrite)
    temporary = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield temporary
        _fsync_tree(temporary)
        _replace(temporary, target)
    except AEFeaturesError:
        raise
    except OSError as exc:  # a full disk, a read-only or special file system, a lost mount
        raise DataError(
            f"cannot write {str(target)!r}: {exc.strerror or exc}.",
            hint="choose an output path on a writable file system with free space",
        ) from exc
    finally:
        _remove(temporary)


def write_parquet(frame: pl.DataFrame, path: str | Path, overwrite: bool) -> Path:
    """Write ``frame`` to ``path`` atomically."""
    with atomic_path(path, overwrite) as temporary:
        frame.write_parquet(temporary)
    return Path(path)


def _replace(temporary: Path, target: Path) -> None:
    if temporary.is_dir() and target.exists():
        # A directory cannot be replaced by rename: move the old one aside first.
        aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, aside)
        os.replace(temporary, target)
        _remove(aside)
    else:
        os.replace(temporary, target)
    _fsync(target.parent)  # the rename itself, not the rest of the directory


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
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
