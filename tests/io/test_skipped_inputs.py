"""Inputs silently skipped, and outputs that become inputs (issue 26, class 2).

A directory or glob reads the files named ``*.parquet``. Parquet files named another way
(``.PARQUET``, ``.parq``, ``.pq``, or no suffix at all but Parquet's magic bytes) would silently
take their rows out of the fit: they are refused, naming them and how to rename them. Other
files are skipped with a warning that names them; hidden names (``_SUCCESS``, ``.crc``) without
a word, as Spark writes them. An output that the input glob would match is refused: every
later run over the glob would read it as data.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from pathlib import Path

import polars as pl
import pytest

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.errors import DataError, OutputExistsError
from aefeatures.io.sinks import check_output
from aefeatures.io.sources import parquet_files
from tests.helpers import make_mixed


def _directory(tmp_path: Path, *names: str) -> Path:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        make_mixed(100, seed=i).write_parquet(data / name)
    return data


@pytest.mark.parametrize("odd", ["b.PARQUET", "b.parq", "b.pq", "b.Parquet", "part-00000"])
def test_parquet_files_named_otherwise_are_refused_by_name(tmp_path: Path, odd: str) -> None:
    data = _directory(tmp_path, "a.parquet", odd)
    with pytest.raises(DataError, match=f"not named '\\*.parquet' and would be left out: .*{odd}"):
        parquet_files(data)
    with pytest.raises(DataError, match=odd):
        parquet_files(str(data / "*"))


def test_the_rename_hint_when_followed_reads_every_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _directory(tmp_path, "a.parquet", "b.PARQUET", "c.pq")
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), "--epochs", "1", "--quiet"]) == 1
    assert not (tmp_path / "m").exists()
    error = capsys.readouterr().err
    hint = error.split("Hint: rename them to end in .parquet (e.g. ")[1].split("), or move")[0]
    subprocess.run(hint, shell=True, check=True)  # the command the hint gives
    renamed = sorted(p.name for p in data.iterdir())
    assert "b.parquet" in renamed and "b.PARQUET" not in renamed
    (data / "c.pq").rename(data / "c.parquet")  # the same for the other file
    files = parquet_files(data)
    assert len(files) == 3 and pl.read_parquet(files).height == 300
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), "--epochs", "1", "--quiet"]) == 0
    assert aef.load(tmp_path / "m").metadata["fingerprint"]["rows"] == 300


def test_other_files_are_skipped_with_a_warning_naming_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = _directory(tmp_path, "a.parquet")
    (data / "README.txt").write_text("about the data")
    (data / "extract.csv").write_text("x\n1\n")
    (data / "_SUCCESS").write_text("")
    (data / ".a.parquet.crc").write_text("")
    _directory(tmp_path, ".hidden/x.pq", "_temporary/y.parquet")  # below hidden names: never data
    with caplog.at_level(logging.WARNING, logger="aefeatures"):
        assert parquet_files(data) == [data / "a.parquet"]
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "2 file(s)" in warned and "README.txt" in warned and "extract.csv" in warned
    assert "_SUCCESS" not in warned and ".crc" not in warned and "x.pq" not in warned


def test_a_directory_of_only_odd_names_says_to_rename(tmp_path: Path) -> None:
    data = _directory(tmp_path, "a.pq")
    with pytest.raises(DataError, match="no Parquet data found") as caught:
        parquet_files(data)
    assert "rename Parquet files to end in .parquet" in caught.value.hint


@pytest.mark.parametrize(
    ("pattern", "output"),
    [
        ("data/*.parquet", "data/scored.parquet"),
        ("data/*", "data/scored.parquet"),
        ("data/**/*.parquet", "data/new/scored.parquet"),
        ("data/*/*.parquet", "data/out"),  # a directory output: its files would match
        ("data/2025-*.parquet", "data/2025-scored.parquet"),
    ],
)
def test_an_output_the_input_glob_would_pick_up_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pattern: str, output: str
) -> None:
    _directory(tmp_path, "2025-a.parquet")
    (tmp_path / "data" / "new").mkdir()
    model = aef.fit(tmp_path / "data", epochs=1, threads=1).save(tmp_path / "m")
    code = main(
        ["transform", str(tmp_path / pattern), "--model", str(model), "--output", str(tmp_path / output)]
    )
    assert code == 1
    error = capsys.readouterr().err
    assert "is matched by the input glob" in error and "Hint:" in error
    assert not (tmp_path / output).exists()
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["2025-a.parquet", "new"]


def test_an_output_beside_the_glob_is_written(tmp_path: Path) -> None:
    _directory(tmp_path, "a.parquet")
    model = aef.fit(tmp_path / "data", epochs=1, threads=1).save(tmp_path / "m")
    out = tmp_path / "scored.parquet"
    assert (
        main(["transform", str(tmp_path / "data" / "*.parquet"), "--model", str(model), "--output", str(out)])
        == 0
    )
    assert pl.read_parquet(out).height == 100
    check_output(
        tmp_path / "data" / "model", False, kind="model", inputs=[str(tmp_path / "data" / "*.parquet")]
    )
    with pytest.raises(OutputExistsError, match=shlex.quote("matched by the input glob")[1:-1]):
        check_output(tmp_path / "data" / "x.parquet", False, inputs=[str(tmp_path / "data" / "*.parquet")])
