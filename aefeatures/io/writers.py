"""Table outputs: batches in, one output out, published atomically or not at all.

An output is opened once with :func:`open_output` (the path, ``overwrite``, the inputs it must
never replace or be inside, and its layout), receives batches (a pyarrow Table or a polars
frame) with :meth:`TableOutput.write`, and is published when the ``with`` block ends: written
into a hidden temporary sibling, flushed, renamed into place without clobbering another run's
output (:func:`aefeatures.io.sinks.atomic_path`). Any exception or signal inside the block
discards it: no partial output, and an existing output is left as it was. Two layouts:

* **rows with no input part** (``source=None``): one file, every batch appended (``sample``);
* **the input's own layout** (``source=`` the :class:`~aefeatures.io.parquet.ParquetSource`
  read): each batch comes with the input part it was read from; a directory source gives a
  directory of one file per input file, at the same place and with the format's suffix, hive
  partition values kept in the directory names (:func:`output_is_partitioned`); the input
  columns keep each input file's Arrow types (``transform``, ``impute``).

The file format is a :class:`~aefeatures.io.formats.TableFormat` (Parquet by default); the
writing, the layout and the safety rules are the same for every format.

Examples
--------
>>> import polars as pl, tempfile, pathlib
>>> from aefeatures.io.parquet import ParquetSource
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with open_output(folder / "rows.parquet") as output:  # rows with no input part
...     for start in (0, 100, 200):
...         output.write(pl.DataFrame({"x": [float(i) for i in range(start, start + 100)]}))
>>> source = ParquetSource.open(folder / "rows.parquet")
>>> with open_output(folder / "doubled.parquet", source=source) as output:  # the input's layout
...     for part, frame in source.iter_frames(batch_rows=128):
...         output.write(frame.with_columns(y=pl.col("x") * 2), part)
>>> pl.read_parquet(folder / "doubled.parquet").shape, output.files
((300, 2), 1)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeAlias

import polars as pl
import pyarrow as pa

from aefeatures.errors import ConfigError, DataError
from aefeatures.io.formats import ParquetFormat, TableFile, TableFormat
from aefeatures.io.parquet import ParquetPart, ParquetSource, open_parquet
from aefeatures.io.sinks import Inputs, atomic_path

Batch: TypeAlias = pa.Table | pl.DataFrame
"""What an output receives: a pyarrow Table or a polars DataFrame."""


class TableOutput:
    """The files of one output, written into its temporary path ``root``: made by :func:`open_output`.

    Examples
    --------
    >>> import polars as pl, tempfile, pathlib
    >>> with open_output(pathlib.Path(tempfile.mkdtemp()) / "out.parquet") as output:
    ...     output.write(pl.DataFrame({"x": [1.0]}))
    >>> output.files
    1
    """

    def __init__(
        self, root: Path, table_format: TableFormat, source: ParquetSource | None, partitioned: bool
    ) -> None:
        self._root = root
        self._format = table_format
        self._source = source
        self._partitioned = partitioned
        self.files = 0  # files started so far
        self._file: TableFile | None = None
        self._current: Path | None = None
        self._input_schemas: dict[Path, pa.Schema] = {}  # each input file's Arrow types

    def write(self, batch: Batch, part: ParquetPart | None = None) -> None:
        """Append ``batch``; with a source, ``part`` is the input file its rows were read from."""
        if (part is None) != (self._source is None):
            raise TypeError("write(batch, part): the part is given exactly when the output has a source")
        table = self._table(batch, part)
        target = self._root
        if self._partitioned and part is not None:  # the input file's place, named in this format
            target = self._root / part.relative.with_suffix(self._format.suffix)
        if target != self._current:
            self.close()
            target.parent.mkdir(parents=True, exist_ok=True)
            self._file = self._format.open(target, table.schema)
            self._current, self.files = target, self.files + 1
        assert self._file is not None
        if not table.schema.equals(self._file.schema):
            table = _conform(table, self._file.schema, part)
        self._file.write_table(table)

    def close(self) -> None:
        """Finish the file being written, if any."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _table(self, batch: Batch, part: ParquetPart | None) -> pa.Table:
        """``batch`` as Arrow: when partitioned, the hive columns the input file did not hold
        dropped (its directory names them); the input file's types restored."""
        if part is not None and part.path not in self._input_schemas:
            self._input_schemas[part.path] = open_parquet(part.path).schema_arrow
        held = self._input_schemas[part.path].names if part is not None else []
        hive = list(self._source.hive_schema.names()) if self._partitioned and self._source else []
        hive = [key for key in hive if key not in held]
        if isinstance(batch, pl.DataFrame):
            table = batch.drop(hive).to_arrow()
        else:
            table = batch.drop_columns(hive) if hive else batch
        if part is None:
            return table
        return with_input_types(table, self._input_schemas[part.path])  # binary stays binary, time32 time32


@contextlib.contextmanager
def open_output(
    path: str | Path,
    *,
    overwrite: bool = False,
    inputs: Inputs = (),
    source: ParquetSource | None = None,
    table_format: TableFormat | None = None,
) -> Iterator[TableOutput]:
    """Open the output ``path``; it is published when the block ends, discarded if it raises.

    Parameters
    ----------
    path
        The output file, or directory for a partitioned output (:func:`output_is_partitioned`).
    overwrite
        Replace an existing output, only one aefeatures wrote in this format
        (:mod:`aefeatures.io.sinks`).
    inputs
        Paths the output may neither be nor be inside; ``source`` is always one of them.
    source
        The input read, for an output in its layout; ``None`` for rows with no input part.
    table_format
        The file format, :class:`~aefeatures.io.formats.ParquetFormat` (snappy) by default.

    Examples
    --------
    >>> import polars as pl, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.parquet"
    >>> with open_output(path) as output:
    ...     output.write(pl.DataFrame({"x": [1.0, 2.0]}))
    >>> pl.read_parquet(path)["x"].to_list()
    [1.0, 2.0]
    """
    table_format = table_format or ParquetFormat()
    partitioned = source is not None and output_is_partitioned(source, path)
    sources = [*inputs, source.origin] if source is not None else inputs
    with atomic_path(path, overwrite, kind=table_format.kind, inputs=sources) as temporary:
        output = TableOutput(temporary, table_format, source, partitioned)
        with contextlib.closing(output):
            yield output


def write_parquet(frame: Batch, path: str | Path, overwrite: bool, *, inputs: Inputs = ()) -> Path:
    """Write ``frame`` to ``path`` atomically as one Parquet file marked as aefeatures output.

    Examples
    --------
    >>> import polars as pl, tempfile, pathlib
    >>> path = write_parquet(pl.DataFrame({"x": [1]}), pathlib.Path(tempfile.mkdtemp()) / "x.parquet", False)
    >>> pl.read_parquet(path).height
    1
    """
    with open_output(path, overwrite=overwrite, inputs=inputs) as output:
        output.write(frame)
    return Path(path)


def output_is_partitioned(source: ParquetSource, output: str | Path) -> bool:
    """Whether ``output`` is a directory of one file per input file (hive layout kept), or one file.

    A directory source gives a directory output unless ``output`` ends in ``.parquet``; a
    file or glob always gives one file. An output written with a trailing slash (``out/``,
    a ``str``: a ``Path`` drops the slash) asks for a directory: refused for a file source,
    rather than writing a file named ``out``.

    Examples
    --------
    >>> import polars as pl, tempfile, pathlib
    >>> from aefeatures.io.parquet import ParquetSource
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pl.DataFrame({"x": [1.0]}).write_parquet(folder / "in.parquet")
    >>> output_is_partitioned(ParquetSource.open(folder), folder / "out")
    True
    """
    wants_directory = isinstance(output, str) and output.endswith(("/", os.sep))
    if wants_directory and not source.is_directory:
        origin = str(source.origin)
        name = Path(origin).name if not any(ch in origin for ch in "*?[") else "features"
        stem = Path(name).stem or "features"
        raise ConfigError(
            f"the output {output!r} ends in '/', which names a directory, but {origin!r} is "
            "not a directory of Parquet files: its rows are written to one Parquet file.",
            hint=f"give the output file's name, e.g. {Path(output) / (stem + '_features.parquet')}; "
            "a directory output is written for a directory input (one file per input file, partitions kept)",
        )
    return source.is_directory and (wants_directory or Path(output).suffix != ".parquet")


def with_input_types(table: pa.Table, input_schema: pa.Schema) -> pa.Table:
    """``table`` with the columns of ``input_schema`` given back their input Arrow fields.

    Going through polars changes some Arrow types of pass-through columns (binary becomes
    large_binary, time32 time64, string large_string, date64 timestamp, dictionary indices
    uint32); every such cast back is exact, as the values came from the input type. The
    output's schema is then the input's, field for field, plus the appended columns.

    Examples
    --------
    >>> import pyarrow as pa
    >>> with_input_types(pa.table({"b": pa.array([b"x"], pa.large_binary())}), pa.schema({"b": pa.binary()})).schema
    b: binary
    """
    fields, columns = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        index = input_schema.get_field_index(field.name)
        original = input_schema.field(index) if index >= 0 else None
        if original is not None and not original.equals(field, check_metadata=True):
            try:
                column = column.cast(original.type)
            except pa.ArrowException:  # not expected: keep polars' type rather than fail the job
                original = None
        fields.append(original if original is not None else field)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=table.schema.metadata))


def _conform(table: pa.Table, schema: pa.Schema, part: ParquetPart | None) -> pa.Table:
    try:
        return table.select(schema.names).cast(schema)
    except (KeyError, pa.ArrowException) as exc:
        if part is None:
            raise DataError(
                f"a batch has columns or types that differ from the earlier batches: {exc}",
                hint="every batch of one output must share one schema",
            ) from exc
        raise DataError(
            f"{str(part.path)!r} has columns or types that differ from the earlier files: {exc}",
            hint="every file of a glob or directory must share one schema; transform them separately",
        ) from exc
