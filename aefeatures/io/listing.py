"""Which files of a Parquet path are data: the one rule every reader uses (:func:`parquet_files`).

A directory or glob reads the files named ``*.parquet``; names starting with ``_`` or ``.`` are
never data (Spark's ``_SUCCESS`` and ``_temporary/``, Hadoop's ``.crc``). Nothing is left out
silently: Parquet files named another way (``.PARQUET``, ``.parq``, ``.pq``, or Parquet's magic
bytes without the suffix) are refused by name, other files are named in a warning.

Examples
--------
>>> import polars as pl, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pl.DataFrame({"x": [1.0]}).write_parquet(folder / "a.parquet")
>>> [p.name for p in parquet_files(folder)]
['a.parquet']
"""

from __future__ import annotations

import glob as globlib
import logging
import os
import shlex
from pathlib import Path
from typing import NamedTuple

from aefeatures.errors import DataError, shorten

PARQUET_SUFFIX = ".parquet"
HIDDEN = ("_", ".")  # names that are never data: _SUCCESS, _temporary/, .crc, hidden files

log = logging.getLogger("aefeatures")


def parquet_files(source: str | Path) -> list[Path]:
    """The data files behind a Parquet path: the one rule every reader (fit, sample, stream,
    transform) uses, so all of them see the same rows.

    - a file: that file, whatever its name (it was named on purpose);
    - a directory: every file below it whose name ends in ``.parquet``, recursing into every
      subdirectory (hive ``key=value`` partitions, Spark's ``name.parquet/`` output directories);
    - a glob: the matched files that pass the directory rule, and matched directories listed by it.

    Names starting with ``_`` or ``.`` are never data, nor is anything below them: Spark's
    ``_SUCCESS`` and ``_temporary/``, Hadoop's ``.crc`` checksums, hidden files. Other files
    (``README.txt``, ``.csv``) are skipped too; when nothing is left the error lists them.
    """
    if isinstance(source, str) and not source.strip():
        raise DataError(
            "the data path is empty (''): it would be read as the current directory.",
            hint="pass a .parquet file, a directory of .parquet files, or a glob such as 'data/*.parquet'",
        )
    path = Path(source)
    if path.is_file():
        return [path]
    skipped: list[Path] = []
    if path.is_dir():
        files = _listed(path, skipped)
        where = "the directory holds no file ending in .parquet"
    elif globlib.has_magic(str(source)):
        files = _globbed(str(source), skipped)
        where = "the glob matches no file ending in .parquet"
    else:
        files, where = [], _not_found(path)
    if not files:
        raise DataError(
            f"no Parquet data found at {shorten(repr(str(source)))}: {where}"
            + (f" (skipped, as not data: {_shown(skipped)})" if skipped else "")
            + ".",
            hint="pass a .parquet file, a directory of .parquet files, or a glob such as 'data/*.parquet'; "
            "files whose names start with '_' or '.' are never read"
            + ("; rename Parquet files to end in .parquet" if _parquet_named_otherwise(skipped) else ""),
        )
    _say_what_is_skipped(source, [p for p in skipped if not _hidden_below(p, _root_of(source))])
    for file in files:
        _require_utf8_name(file)
    return files


def _not_found(path: Path) -> str:
    """Why a path that is neither a file nor a directory holds no data."""
    if path.is_symlink() and not path.exists():
        return "it is a symbolic link to nothing (its target is missing, or the links form a loop)"
    if os.path.lexists(path):
        return "it is not a regular file (a pipe, a device or a socket: write the data to a file first)"
    return "no such file or directory"


OTHER_PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
"""Suffixes (any case) of Parquet files named another way than ``.parquet``: refused, not skipped."""


class OtherFormat(NamedTuple):
    """A table format users may pass for Parquet: its name, polars' call that reads a file of it
    (``{}`` the path) and the DataFrame method that writes one."""

    name: str
    read: str
    write: str

    @property
    def a_name(self) -> str:
        """The name after its article: ``an Excel``, ``a CSV``."""
        return f"{'an' if self.name[:1] in 'AEIOU' else 'a'} {self.name}"


OTHER_FORMATS = {
    ".csv": OtherFormat("CSV", "read_csv({!r})", "write_csv"),
    ".tsv": OtherFormat("tab-separated", "read_csv({!r}, separator='\\t')", "write_csv"),
    ".json": OtherFormat("JSON", "read_json({!r})", "write_json"),
    ".jsonl": OtherFormat("JSON lines", "read_ndjson({!r})", "write_ndjson"),
    ".ndjson": OtherFormat("JSON lines", "read_ndjson({!r})", "write_ndjson"),
    ".arrow": OtherFormat("Arrow IPC", "read_ipc({!r})", "write_ipc"),
    ".feather": OtherFormat("Feather", "read_ipc({!r})", "write_ipc"),
    ".ipc": OtherFormat("Arrow IPC", "read_ipc({!r})", "write_ipc"),
    ".xlsx": OtherFormat("Excel", "read_excel({!r})", "write_excel"),
}
"""Other table formats by file suffix, named in errors with the polars call that converts them."""


def _root_of(source: str | Path) -> Path:
    """Where the names of a directory's or a glob's files start to count (hidden or not)."""
    path = Path(source)
    if path.is_dir():
        return path
    parts = path.parts
    fixed = next((i for i, part in enumerate(parts) if globlib.has_magic(part)), len(parts))
    return Path(*parts[:fixed]) if fixed else Path()


def _hidden_below(path: Path, root: Path) -> bool:
    below = path.relative_to(root).parts if path.is_relative_to(root) else path.parts
    return any(part.startswith(HIDDEN) for part in below)


def _say_what_is_skipped(source: str | Path, skipped: list[Path]) -> None:
    """Refuse Parquet files named otherwise (the rows would silently go missing); log the rest.

    ``skipped`` holds no hidden names: those (``_SUCCESS``, ``.crc``) are skipped without a
    word, as Spark and Hadoop do.
    """
    odd = _parquet_named_otherwise(skipped)
    if odd:
        first = odd[0]
        raise DataError(
            f"{len(odd)} Parquet file(s) at {shorten(repr(str(source)))} are not named '*.parquet' "
            f"and would be left out: {_shown(odd)}.",
            hint=f"rename them to end in .parquet (e.g. mv {shlex.quote(str(first))} "
            f"{shlex.quote(str(first.with_suffix('.parquet')))}), or move them out of the input",
        )
    if skipped:
        log.warning(
            "%d file(s) at %s are not Parquet data (names not ending in .parquet) and are skipped: %s",
            len(skipped), shorten(repr(str(source))), _shown(skipped),
        )  # fmt: skip


def _parquet_named_otherwise(skipped: list[Path]) -> list[Path]:
    """The skipped files, not hidden, that are Parquet: an odd spelling of the suffix or Parquet's magic bytes."""
    return [
        p
        for p in skipped
        if not p.name.startswith(HIDDEN)
        and p.is_file()
        and (p.suffix.lower() in OTHER_PARQUET_SUFFIXES or _starts_as_parquet(p))
    ]


def _starts_as_parquet(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False


def _shown(paths: list[Path]) -> str:
    return ", ".join(shorten(repr(str(p)), 120) for p in paths[:5]) + (
        f", ... ({len(paths) - 5} more)" if len(paths) > 5 else ""
    )


def _require_utf8_name(path: Path) -> None:
    """Arrow cannot open a path that is not valid UTF-8: refuse it by name instead of failing inside."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise DataError(
            f"the file name {ascii(str(path))} is not valid UTF-8, which Parquet readers cannot open.",
            hint="rename the file (for example with convmv), or move it out of the data directory",
        ) from None


def is_data_name(name: str) -> bool:
    """Whether a file found by listing a directory or a glob is data (see :func:`parquet_files`)."""
    return name.endswith(PARQUET_SUFFIX) and not name.startswith(HIDDEN)


def _listed(root: Path, skipped: list[Path]) -> list[Path]:
    files: list[Path] = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if not d.startswith(HIDDEN)]
        for name in names:
            (files if is_data_name(name) else skipped).append(Path(directory) / name)
    skipped.sort()
    return sorted(files)


def _globbed(pattern: str, skipped: list[Path]) -> list[Path]:
    base = _root_of(pattern)
    files: set[Path] = set()
    for match in map(Path, globlib.glob(pattern, recursive=True)):
        below = match.relative_to(base).parts if match.is_relative_to(base) else match.parts
        if any(part.startswith(HIDDEN) for part in below):
            skipped.append(match)
        elif match.is_dir():
            files.update(_listed(match, skipped))
        elif match.is_file():
            (files.add(match) if is_data_name(match.name) else skipped.append(match))
    skipped.sort()
    return sorted(files)
