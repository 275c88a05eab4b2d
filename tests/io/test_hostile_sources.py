"""Hostile Parquet paths: which files are data, partitions, names and schemas that differ by file.

One function (:func:`aefeatures.io.sources.parquet_files`) decides which files of a directory or
glob are data, and :class:`aefeatures.io.sources.ParquetLayout` what they hold; the in-memory
read (``scan``), the streamed reader (``ParquetSource``), the sampled and streamed fits and the
streaming transform all go through them, so they see the same rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import aefeatures as aef
from aefeatures.errors import DataError
from aefeatures.fitting.sampling import sample_rows
from aefeatures.io.parquet import ParquetSource
from aefeatures.io.sources import parquet_files, read_frame, scan
from aefeatures.transform.streaming import transform_path

FIT: dict[str, Any] = {"epochs": 1, "threads": 1, "seed": 0}


def frame(rows: int = 120, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"x": rng.normal(size=rows), "y": rng.normal(size=rows)})


def spark_like(root: Path) -> int:
    """A directory as Spark and Hadoop leave it: data in ``*.parquet`` files, a ``name.parquet/``
    output directory, markers, checksums, temporaries and notes that are not data. Returns the rows."""
    (root / "out.parquet").mkdir(parents=True)
    frame(100, 1).write_parquet(root / "out.parquet" / "part-00000-abc.snappy.parquet")
    frame(30, 2).write_parquet(root / "out.parquet" / "part-00001-abc.snappy.parquet")
    frame(20, 3).write_parquet(root / "top.parquet")
    (root / "out.parquet" / "_SUCCESS").write_text("")
    (root / "out.parquet" / ".part-00000-abc.snappy.parquet.crc").write_bytes(b"crc")
    (root / "_temporary" / "0").mkdir(parents=True)
    frame(7, 4).write_parquet(root / "_temporary" / "0" / "part-00002.parquet")  # an unfinished job
    frame(5, 5).write_parquet(root / ".hidden.parquet")
    (root / "README.txt").write_text("not data")
    (root / "notes.csv").write_text("x,y\n1,2\n")
    return 150


def test_one_rule_decides_which_files_of_a_directory_are_data(tmp_path: Path) -> None:
    rows = spark_like(tmp_path / "d")
    names = [p.relative_to(tmp_path / "d").as_posix() for p in parquet_files(tmp_path / "d")]
    assert names == [
        "out.parquet/part-00000-abc.snappy.parquet",
        "out.parquet/part-00001-abc.snappy.parquet",
        "top.parquet",
    ]
    assert read_frame(tmp_path / "d").height == rows
    assert ParquetSource.open(tmp_path / "d").n_rows == rows
    # a Spark output directory passed as the path itself
    assert read_frame(tmp_path / "d" / "out.parquet").height == 130


def test_fit_sample_stream_and_transform_see_the_same_rows(tmp_path: Path) -> None:
    rows = spark_like(tmp_path / "d")
    source = tmp_path / "d"
    whole = read_frame(source)
    drawn = sample_rows(ParquetSource.open(source), ["x", "y"], 10_000, seed=0)
    assert drawn.n_rows == rows
    assert sorted(drawn.frame["x"].to_list()) == sorted(whole["x"].to_list())
    assert aef.fit(source, stream=True, **FIT).info()["training"]["rows"] == rows
    model = aef.fit(source, **FIT)
    summary = transform_path(model, source, tmp_path / "out", on_drift="ignore")
    assert summary.rows == rows == model.transform(source).height
    written = pl.read_parquet(tmp_path / "out")
    assert sorted(written["x"].to_list()) == sorted(whole["x"].to_list())


def test_a_glob_follows_the_same_rule(tmp_path: Path) -> None:
    spark_like(tmp_path / "d")
    assert len(parquet_files(str(tmp_path / "d" / "*"))) == 3  # the directory match is listed too
    assert len(parquet_files(str(tmp_path / "d" / "**" / "*.parquet"))) == 3  # _temporary/ skipped
    assert scan(str(tmp_path / "d" / "*")).collect().height == 150


@pytest.mark.parametrize(
    ("build", "pattern", "says"),
    [
        (lambda d: (d / "README.txt").write_text("x"), "{d}", "holds no file ending in .parquet"),
        (lambda d: (d / "_SUCCESS").write_text(""), "{d}/*.parquet", "the glob matches no file"),
        (lambda d: None, "{d}/nope.parquet", "no such file or directory"),
        (lambda d: None, "{d}", "holds no file ending in .parquet"),
    ],
    ids=["directory-without-parquet", "glob-matching-nothing", "missing-file", "empty-directory"],
)
def test_no_data_says_what_was_there(
    tmp_path: Path, build: Callable[[Path], object], pattern: str, says: str
) -> None:
    build(tmp_path)
    with pytest.raises(DataError, match="no Parquet data found") as info:
        parquet_files(pattern.format(d=tmp_path))
    assert says in str(info.value)


def test_a_directory_of_other_files_names_what_it_skipped(tmp_path: Path) -> None:
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / "data.csv").write_text("x\n1\n")
    with pytest.raises(DataError, match=r"skipped, as not data: .*_SUCCESS.*data\.csv"):
        aef.fit(tmp_path, **FIT)


def test_files_that_disagree_on_a_type_are_refused_before_reading_rows(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    frame().write_parquet(tmp_path / "d" / "a.parquet")
    frame().with_columns(pl.col("x").cast(pl.Float32)).write_parquet(tmp_path / "d" / "b.parquet")
    messages = set()
    for read in (
        lambda: read_frame(tmp_path / "d"),
        lambda: ParquetSource.open(tmp_path / "d"),
        lambda: aef.fit(tmp_path / "d", **FIT),
        lambda: aef.fit(tmp_path / "d", stream=True, **FIT),
        lambda: aef.fit(tmp_path / "d", sample=50, **FIT),
    ):
        with pytest.raises(DataError) as info:
            read()
        messages.add(str(info.value))
    (message,) = messages  # one message, whichever way the data is read
    assert "b.parquet" in message and "column 'x' is Float32 instead of Float64" in message


def test_column_order_may_differ_between_files(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    frame(50).write_parquet(tmp_path / "d" / "a.parquet")
    frame(40).select("y", "x").write_parquet(tmp_path / "d" / "b.parquet")
    assert read_frame(tmp_path / "d").columns == ["x", "y"]
    assert ParquetSource.open(tmp_path / "d").n_rows == 90


def test_typed_hive_partitions_read_the_same_whole_and_streamed(tmp_path: Path) -> None:
    root = tmp_path / "h"
    for flag, day, key in [("true", "2024-01-01", "1"), ("false", "2024-01-02", "x")]:
        folder = root / f"flag={flag}" / f"day={day}" / f"key={key}"
        folder.mkdir(parents=True)
        frame(30).write_parquet(folder / "part-0.parquet")
    (root / "flag=true" / "day=2024-01-03" / "key=__HIVE_DEFAULT_PARTITION__").mkdir(parents=True)
    frame(10).write_parquet(
        root / "flag=true" / "day=2024-01-03" / "key=__HIVE_DEFAULT_PARTITION__" / "p.parquet"
    )
    whole = read_frame(root)
    assert dict(whole.schema) == {
        "x": pl.Float64(),
        "y": pl.Float64(),
        "flag": pl.Boolean(),
        "day": pl.Date(),
        "key": pl.String(),
    }
    source = ParquetSource.open(root)
    streamed = pl.concat([f for _, f in source.iter_frames()])
    assert streamed.sort("day", "x").equals(whole.sort("day", "x"))
    assert whole["key"].null_count() == 10
    model = aef.fit(root, **FIT)
    assert transform_path(model, root, tmp_path / "out", on_drift="ignore").rows == 70


def test_a_partition_column_also_in_the_files_keeps_their_type_and_must_agree(tmp_path: Path) -> None:
    store = pl.Series("store", ["007", "012"] * 10)  # text that reads as a number in a directory name
    frame(20).with_columns(store).write_parquet(tmp_path / "ok", partition_by="store")  # writes both
    whole = read_frame(tmp_path / "ok")
    streamed = pl.concat(f for _, f in ParquetSource.open(tmp_path / "ok").iter_frames())
    assert whole["store"].dtype == streamed["store"].dtype == pl.String  # not 7 and 12
    assert sorted(whole["store"].unique()) == sorted(streamed["store"].unique()) == ["007", "012"]
    folder = tmp_path / "h" / "part=x"
    folder.mkdir(parents=True)
    frame(10).with_columns(part=pl.lit("stale")).write_parquet(folder / "p.parquet")
    for read in (lambda: read_frame(tmp_path / "h"), lambda: ParquetSource.open(tmp_path / "h")):
        with pytest.raises(DataError, match=r"holds 'stale' in its column 'part', but sits under .*'part=x'"):
            read()  # the directory's value would silently replace the file's


def test_partition_directories_with_different_keys_are_named(tmp_path: Path) -> None:
    for key in ("a=1", "b=1"):
        (tmp_path / key).mkdir()
        frame(10).write_parquet(tmp_path / key / "p.parquet")
    with pytest.raises(DataError, match=r"has \['a'\].*has \['b'\]"):
        read_frame(tmp_path)


def test_an_empty_column_name_is_refused_wherever_it_is_read(tmp_path: Path) -> None:
    table = pa.table({"x": [1.0, 2.0, 3.0], "": [1.0, 2.0, 3.0]})
    pq.write_table(table, tmp_path / "e.parquet")
    for read in (
        lambda: read_frame(tmp_path / "e.parquet"),
        lambda: ParquetSource.open(tmp_path / "e.parquet"),
        lambda: read_frame(table),
    ):
        with pytest.raises(DataError, match="column 1 of .* has an empty name"):
            read()


def test_duplicate_names_are_refused_in_a_directory_too(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    table = pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0])], names=["x", "x"])
    pq.write_table(table, tmp_path / "d" / "dup.parquet")
    with pytest.raises(DataError, match="'x' appears more than once"):
        read_frame(tmp_path / "d")


def test_a_file_name_that_is_not_utf8_is_named_in_the_error(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.parquet")  # Latin-1 bytes: a surrogate escape in Python
    pl.DataFrame({"x": [1.0, 2.0, 3.0]}).write_parquet(tmp_path / "tmp.parquet")
    os.rename(tmp_path / "tmp.parquet", os.path.join(folder, name))
    with pytest.raises(DataError, match=r"caf\\udce9.parquet.*not valid UTF-8"):
        parquet_files(folder)


def test_a_nul_character_in_a_column_name_is_refused_wherever_it_is_read(tmp_path: Path) -> None:
    table = pa.table({"x": [1.0, 2.0, 3.0], "a\x00b": [1.0, 2.0, 3.0]})
    pq.write_table(table, tmp_path / "n.parquet")  # Arrow C interfaces cut the name at the NUL
    for read in (
        lambda: read_frame(tmp_path / "n.parquet"),
        lambda: ParquetSource.open(tmp_path / "n.parquet"),
        lambda: read_frame(table),
        lambda: read_frame(pl.from_arrow(table)),
    ):
        with pytest.raises(DataError, match=r"column 1 of .*'a\\x00b'.* has a NUL character in its name"):
            read()
