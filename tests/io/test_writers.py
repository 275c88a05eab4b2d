"""Table outputs (aefeatures/io/writers.py): batches in, one atomic output out, in either layout,
and every table format gets the atomic and overwrite rules without writing them again."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from aefeatures.errors import DataError, OutputExistsError
from aefeatures.io.artifacts import artifact_kind
from aefeatures.io.formats import TABLE_FORMATS, TableFile, TableFormat
from aefeatures.io.parquet import ParquetSource
from aefeatures.io.writers import open_output, write_parquet
from tests.helpers import write_partitioned


def batches(count: int = 5, rows: int = 100) -> list[pl.DataFrame]:
    return [
        pl.DataFrame({"i": range(k * rows, (k + 1) * rows), "x": [float(k)] * rows}) for k in range(count)
    ]


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- rows with no input part ----------------------------------------------------------------------------


def test_rows_are_streamed_into_one_marked_file(tmp_path: Path) -> None:
    with open_output(tmp_path / "rows.parquet") as output:
        for batch in batches():
            output.write(batch)
        assert not (tmp_path / "rows.parquet").exists()  # published only when the block ends
    assert_frame_equal(pl.read_parquet(tmp_path / "rows.parquet"), pl.concat(batches()))
    assert output.files == 1 and artifact_kind(tmp_path / "rows.parquet") == "parquet"
    assert [p.name for p in tmp_path.iterdir()] == ["rows.parquet"]  # no temporary left


@pytest.mark.parametrize("error", [DataError("bad batch"), KeyboardInterrupt()], ids=["error", "signal"])
def test_a_failure_mid_stream_leaves_nothing_and_keeps_the_existing_output(
    tmp_path: Path, error: BaseException
) -> None:
    previous = write_parquet(pl.DataFrame({"old": [1, 2]}), tmp_path / "out.parquet", overwrite=False)
    before = listing(tmp_path)
    for target, overwrite in ((previous, True), (tmp_path / "new.parquet", False)):
        with pytest.raises(type(error)), open_output(target, overwrite=overwrite) as output:
            for k, batch in enumerate(batches()):
                if k == 3:
                    raise error
                output.write(batch)
        assert listing(tmp_path) == before  # the old output as it was, no new output, no temporary


def test_batches_may_be_arrow_tables_and_must_share_one_schema(tmp_path: Path) -> None:
    with open_output(tmp_path / "t.parquet") as output:
        output.write(pa.table({"x": [1.0]}))
        output.write(pl.DataFrame({"x": [2.0]}))
    assert pl.read_parquet(tmp_path / "t.parquet")["x"].to_list() == [1.0, 2.0]
    with (
        pytest.raises(DataError, match="differ from the earlier batches"),
        open_output(tmp_path / "u.parquet") as out,
    ):
        out.write(pa.table({"x": [1.0]}))
        out.write(pa.table({"y": ["text"]}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]


def test_a_part_goes_with_a_source_only(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="part"), open_output(tmp_path / "t.parquet") as output:
        source = ParquetSource.open(write_parquet(pl.DataFrame({"x": [1]}), tmp_path / "in.parquet", False))
        output.write(pl.DataFrame({"x": [1]}), source.parts[0])


# --- the input's own layout -------------------------------------------------------------------------------


def test_a_directory_source_gives_its_layout_with_input_types_kept(tmp_path: Path) -> None:
    frame = write_partitioned(tmp_path / "events")
    source = ParquetSource.open(tmp_path / "events")
    with open_output(tmp_path / "copy", source=source) as output:
        for part, batch in source.iter_frames(batch_rows=64):
            output.write(batch.with_columns(twice=pl.col("x") * 2), part)
    inputs = sorted(p.relative_to(tmp_path / "events") for p in (tmp_path / "events").rglob("*.parquet"))
    outputs = sorted(p.relative_to(tmp_path / "copy") for p in (tmp_path / "copy").rglob("*.parquet"))
    assert outputs == inputs and output.files == len(inputs)
    first = pq.read_schema(tmp_path / "copy" / outputs[0])
    original = pq.read_schema(tmp_path / "events" / inputs[0])
    assert first.names == [*original.names, "twice"]  # hive columns live in the directory names
    assert all(first.field(f.name).type == f.type for f in original)  # e.g. string, not large_string
    back = pl.scan_parquet(tmp_path / "copy", hive_partitioning=True).collect()
    assert_frame_equal(back.select(frame.columns).sort("id"), frame.sort("id"), check_dtypes=False)


def test_the_source_is_never_replaced(tmp_path: Path) -> None:
    data = write_parquet(pl.DataFrame({"x": [1]}), tmp_path / "in.parquet", overwrite=False)
    source = ParquetSource.open(data)
    refused = pytest.raises(OutputExistsError, match="is an input of this command")
    with refused, open_output(data, overwrite=True, source=source) as output:
        output.write(pl.DataFrame({"x": [2]}), source.parts[0])
    assert pl.read_parquet(data)["x"].to_list() == [1]


# --- a second format gets the rules for free ----------------------------------------------------------------


class _LinesFile:
    """JSON lines, the first line the marker: all a format writes itself."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.schema = schema
        self._handle = path.open("w", encoding="utf-8")
        self._handle.write(LinesFormat.MARKER + "\n")

    def write_table(self, table: pa.Table) -> None:
        self._handle.writelines(json.dumps(row) + "\n" for row in table.to_pylist())

    def close(self) -> None:
        self._handle.close()


class LinesFormat(TableFormat):
    kind = "lines"
    description = "JSON lines written by aefeatures"
    suffix = ".jsonl"
    MARKER = '{"aefeatures": "lines"}'

    def open(self, path: Path, schema: pa.Schema) -> TableFile:
        return _LinesFile(path, schema)

    def is_marked(self, path: Path) -> bool:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.readline().rstrip("\n") == self.MARKER


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> LinesFormat:
    format_ = LinesFormat()
    monkeypatch.setitem(TABLE_FORMATS, format_.kind, format_)
    return format_


def write_lines(path: Path, lines: LinesFormat, overwrite: bool = False, rows: int = 3) -> None:
    with open_output(path, overwrite=overwrite, table_format=lines) as output:
        output.write(pl.DataFrame({"x": list(range(rows))}))


def test_a_second_format_is_published_atomically_and_recognised(tmp_path: Path, lines: LinesFormat) -> None:
    target = tmp_path / "out.jsonl"
    write_lines(target, lines)
    assert target.read_text().splitlines()[1:] == ['{"x": 0}', '{"x": 1}', '{"x": 2}']
    assert artifact_kind(target) == "lines" and [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    with pytest.raises(OutputExistsError, match="already exists"):
        write_lines(target, lines)
    write_lines(target, lines, overwrite=True, rows=1)  # its own earlier output: replaced
    assert len(target.read_text().splitlines()) == 2
    before = target.read_bytes()
    with pytest.raises(RuntimeError), open_output(target, overwrite=True, table_format=lines) as output:
        output.write(pl.DataFrame({"x": [9]}))
        raise RuntimeError("fails mid-stream")
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_a_second_format_replaces_only_its_own_outputs(tmp_path: Path, lines: LinesFormat) -> None:
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"x": 1}\n')
    parquet = write_parquet(pl.DataFrame({"x": [1]}), tmp_path / "p.parquet", overwrite=False)
    with pytest.raises(OutputExistsError, match="aefeatures did not write this file"):
        write_lines(mine, lines, overwrite=True)
    with pytest.raises(OutputExistsError, match="it is Parquet output written by aefeatures, not JSON lines"):
        write_lines(parquet, lines, overwrite=True)
    refused = pytest.raises(OutputExistsError, match="an input of this command")
    with refused, open_output(tmp_path / "x.jsonl", table_format=lines, inputs=[tmp_path]) as output:
        output.write(pl.DataFrame({"x": [1]}))
    assert mine.read_text() == '{"x": 1}\n' and artifact_kind(parquet) == "parquet"


def test_a_second_format_keeps_the_input_layout(tmp_path: Path, lines: LinesFormat) -> None:
    root = tmp_path / "events"
    for region in ("north", "south"):
        (root / f"region={region}").mkdir(parents=True)
        pl.DataFrame({"x": [1.0, 2.0]}).write_parquet(root / f"region={region}" / "a.parquet")
    source = ParquetSource.open(root)
    for overwrite in (False, True):  # a directory of its own files is replaced as a whole
        with open_output(tmp_path / "out", overwrite=overwrite, source=source, table_format=lines) as output:
            for part, batch in source.iter_frames():
                output.write(batch, part)
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*")) == [
        "region=north",
        "region=north/a.jsonl",
        "region=south",
        "region=south/a.jsonl",
    ]
    assert artifact_kind(tmp_path / "out") == "lines"
