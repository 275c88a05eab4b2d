"""File formats of table outputs: how one file is written, marked and recognised as aefeatures output.

A :class:`TableFormat` knows one thing: how to write tables into one file that carries the
aefeatures marker, and how to recognise that marker again. Everything else about an output
(batches, partitions, the temporary sibling, the atomic rename, what ``--overwrite`` may
replace) is the same for every format and lives in :mod:`aefeatures.io.writers` and
:mod:`aefeatures.io.sinks`. :data:`TABLE_FORMATS` lists the formats that
:func:`aefeatures.io.artifacts.artifact_kind` recognises: a format needs its line there before
``--overwrite`` may replace what it wrote.

Examples
--------
>>> import pyarrow as pa, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
>>> table = pa.table({"x": [1.0, 2.0]})
>>> writer = ParquetFormat().open(path, table.schema)
>>> writer.write_table(table)
>>> writer.close()
>>> ParquetFormat().is_marked(path), TABLE_FORMATS["parquet"].kind
(True, 'parquet')
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from aefeatures.defaults import DEFAULT_COMPRESSION, check_compression

MARKER_KEY = "aefeatures"
"""Parquet file-level key-value metadata key that every aefeatures Parquet output carries."""
MARKER = {"format": "aefeatures-output", "version": 1}


class TableFile(Protocol):
    """One output file being written (``pyarrow.parquet.ParquetWriter`` is one)."""

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema every table written must have."""
        ...

    def write_table(self, table: pa.Table) -> None:
        """Append ``table``'s rows."""
        ...

    def close(self) -> None:
        """Finish the file (footer, flush)."""
        ...


class TableFormat(ABC):
    """A file format of table outputs: writes files marked as aefeatures output, recognises them."""

    kind: ClassVar[str]
    """The artifact kind of its outputs, a key of :data:`TABLE_FORMATS` (``"parquet"``)."""
    description: ClassVar[str]
    """What an output of this format is, for messages ("Parquet output written by aefeatures")."""
    suffix: ClassVar[str]
    """The name ending of its files: every file of a partitioned output has it."""

    @abstractmethod
    def open(self, path: Path, schema: pa.Schema) -> TableFile:
        """Start the file ``path`` for tables of ``schema``, marked as aefeatures output."""

    @abstractmethod
    def is_marked(self, path: Path) -> bool:
        """Whether the regular file ``path`` is of this format and carries the aefeatures marker."""


@dataclass(frozen=True)
class ParquetFormat(TableFormat):
    """Parquet files with the aefeatures key-value marker (:data:`MARKER_KEY`)."""

    compression: str = DEFAULT_COMPRESSION

    kind: ClassVar[str] = "parquet"
    description: ClassVar[str] = "Parquet output written by aefeatures"
    suffix: ClassVar[str] = ".parquet"

    def __post_init__(self) -> None:
        check_compression(self.compression)

    def open(self, path: Path, schema: pa.Schema) -> TableFile:
        """A ``ParquetWriter`` for ``path``: the marker in the schema, strings dictionary-encoded."""
        return pq.ParquetWriter(
            path,
            schema.with_metadata({**(schema.metadata or {}), **parquet_marker()}),
            compression=self.compression,
            use_dictionary=_dictionary_columns(schema),
        )

    def is_marked(self, path: Path) -> bool:
        """A Parquet file whose key-value metadata has :data:`MARKER_KEY`."""
        try:
            with path.open("rb") as handle:
                if handle.read(4) != b"PAR1":
                    return False
            metadata = pq.read_metadata(path).metadata or {}
        except (OSError, pa.ArrowException):
            return False
        return MARKER_KEY.encode() in metadata


def parquet_marker() -> dict[str, str]:
    """The Parquet key-value metadata that marks a file as aefeatures output."""
    return {MARKER_KEY: json.dumps(MARKER)}


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    # Dictionary-encoding floats makes pyarrow 3x slower and files bigger; strings gain from it.
    return [f.name for f in schema if not (pa.types.is_floating(f.type) or pa.types.is_boolean(f.type))]


TABLE_FORMATS: dict[str, TableFormat] = {format_.kind: format_ for format_ in (ParquetFormat(),)}
"""Every table output format, by kind: what :func:`~aefeatures.io.artifacts.artifact_kind` recognises."""
