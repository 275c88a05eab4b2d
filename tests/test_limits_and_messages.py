"""Limits on both sides, capped messages (issue 26, class 9) and the messages that were unclear.

What fit accepts it can write and the loader can read: the loader's limits are applied where the
model is written, so a model past one is refused before it is published. An error quoting a
long or hostile value (a YAML bomb, a huge name) is cut with "... (N more characters)". An
infinite value in a streamed fit is reported at its file and row; pandas MultiIndex columns
ask to be flattened; an empty path is refused, not read as the current directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.errors import MAX_MESSAGE, DataError, ModelFileError, shorten
from aefeatures.io.sinks import file_sha256
from aefeatures.model import files, manifest
from aefeatures.model.manifest import MANIFEST, MANIFEST_DIGEST, SCHEMA, sealed
from tests.helpers import make_mixed, run_cli

BOMB = """\
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
columns: [*g, *g, *g, *g, *g, *g, *g, *g, *g]
"""


def test_shorten_says_how_much_was_cut() -> None:
    assert shorten("a" * 1000, 10) == "aaaaaaaaaa... (990 more characters)"
    assert len(str(DataError("x" * 10**6, hint="y" * 10**6))) < 2 * MAX_MESSAGE + 200


@pytest.mark.parametrize("limit", ["schema", "manifest"])
def test_a_model_past_a_loader_limit_is_refused_before_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    model = aef.fit(make_mixed(200), epochs=1, threads=1)
    if limit == "schema":  # the same constant the loader reads
        monkeypatch.setattr(files, "MAX_SCHEMA_BYTES", 256)
    else:
        monkeypatch.setattr(manifest, "MAX_MANIFEST_BYTES", 1024)
    with pytest.raises(DataError, match="cannot be written: it would not load back: .* larger than"):
        model.save(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert aef.load(model.save(tmp_path / "m")).columns == model.columns  # within the limits: loads


def test_a_yaml_bomb_schema_file_is_refused_quickly_and_briefly(tmp_path: Path) -> None:
    make_mixed(100).write_parquet(tmp_path / "d.parquet")
    (tmp_path / "bomb.yaml").write_text(BOMB)
    done = run_cli("fit", "d.parquet", "--schema", "bomb.yaml", "--epochs", "1", cwd=tmp_path, timeout=120)
    assert done.returncode == 1 and "YAML aliases" in done.stderr
    assert len(done.stderr) < 2000 and "Traceback" not in done.stderr


def test_a_yaml_bomb_in_a_model_directory_is_refused_briefly(model_copy: Path) -> None:
    (model_copy / SCHEMA).write_text(BOMB)
    record = json.loads((model_copy / MANIFEST).read_text())
    record.pop(MANIFEST_DIGEST)
    record["files"][SCHEMA] = file_sha256(model_copy / SCHEMA)
    (model_copy / MANIFEST).write_text(json.dumps(sealed(record)))
    with pytest.raises(ModelFileError, match="YAML aliases") as info:
        aef.load(model_copy)
    assert len(str(info.value)) < 2000


def test_a_huge_column_name_is_cut_in_the_message(tmp_path: Path) -> None:
    name = "n" * 200_000
    frame = make_mixed(100).with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
    with pytest.raises(DataError) as info:
        aef.fit(frame, epochs=1, threads=1)
    text = str(info.value)
    assert "more characters)" in text and len(text) < 2 * MAX_MESSAGE + 200


def test_an_infinite_value_in_a_streamed_fit_names_the_file_and_its_row(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        x = rng.normal(size=3000)
        if i == 2:
            x[1234] = np.inf
        pl.DataFrame({"x": x, "y": rng.normal(size=3000)}).write_parquet(
            data / f"part-{i}.parquet", row_group_size=500
        )
    for options in ({"stream": True, "sample": 500}, {"stream": False}):
        with pytest.raises(aef.DataError, match="infinite") as info:
            aef.fit(data, epochs=1, threads=1, **options)  # type: ignore[arg-type]
        assert "row 1234 of" in str(info.value) and "part-2.parquet" in str(info.value), options


def test_pandas_multiindex_columns_ask_to_be_flattened(model: aef.AutoencoderModel) -> None:
    frame = make_mixed(50).to_pandas()
    frame.columns = pd.MultiIndex.from_tuples([("g", c) for c in frame.columns])
    for call in (lambda: aef.fit(frame, epochs=1), lambda: model.transform(frame)):
        with pytest.raises(aef.DataError, match="MultiIndex columns") as info:
            call()
        assert "flatten the MultiIndex columns" in str(info.value)
    frame.columns = ["_".join(map(str, c)) for c in frame.columns]  # the hint, followed
    assert aef.fit(frame, epochs=1, threads=1).columns[0].startswith("g_")


@pytest.mark.parametrize(
    "args",
    [
        ["transform", "d.parquet", "--model", "m", "--output", ""],
        ["transform", "d.parquet", "--model", "m", "-o", ""],
        ["transform", "d.parquet", "--model", "m", "--output="],
        ["fit", "d.parquet", "--model", "", "--epochs", "1"],
        ["report", "m", "--output", " "],
    ],
)
def test_an_empty_path_is_refused_not_read_as_the_current_directory(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    make_mixed(100).write_parquet("d.parquet")
    aef.fit(pl.read_parquet("d.parquet"), epochs=1, threads=1).save("m")
    before = sorted(os.listdir("."))
    assert main(args) == 2
    assert "is empty ('')" in capsys.readouterr().err
    assert sorted(os.listdir(".")) == before


def test_an_empty_data_path_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_mixed(100).write_parquet("d.parquet")  # the current directory holds data: it must not be read
    with pytest.raises(aef.DataError, match="the data path is empty"):
        aef.fit("", epochs=1)
