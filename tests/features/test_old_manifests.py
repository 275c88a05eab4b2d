"""Models written before column types had their own fields load and score bitwise the same.

``data/old_model`` was written by aefeatures before this change (every column storing every
field of every type, e.g. a numeric column with ``levels: []``), with ``data/old_rows.parquet``
and the ``transform`` output it gave (``data/old_scores.parquet``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import aefeatures as aef
from aefeatures.errors import ModelFileError
from aefeatures.features.types import TYPES, ColumnSpec
from aefeatures.model.manifest import MANIFEST, MANIFEST_DIGEST, sealed
from tests.helpers import make_mixed

DATA = Path(__file__).parent / "data"
EVERY_FIELD: dict[str, Any] = {  # the defaults of the flat spec every column used to carry
    "center": 0.0,
    "scale": 1.0,
    "levels": [],
    "rare_levels": [],
    "parts": [],
    "rare_hashes": "",
    "rare_hash_limit": None,
}


def test_a_model_written_by_the_old_code_scores_bitwise_the_same() -> None:
    manifest = json.loads((DATA / "old_model" / MANIFEST).read_text())
    assert all("levels" in column and "parts" in column for column in manifest["preprocessing"]["columns"])
    model = aef.load(DATA / "old_model")
    assert [spec.kind for spec in model.preprocessor.specs] == [
        column["kind"] for column in manifest["preprocessing"]["columns"]
    ]
    rows = pl.read_parquet(DATA / "old_rows.parquet")
    assert_same_scores(model, rows, model.transform(rows, per_feature_errors=True))


def assert_same_scores(model: aef.AutoencoderModel, rows: pl.DataFrame, scored: pl.DataFrame) -> None:
    """Bitwise the old scores on every row without a missing feature cell. A row with holes is
    scored after filling them with the model's guesses now (docs/writing-back.md), on purpose."""
    old = pl.read_parquet(DATA / "old_scores.parquet")
    assert scored.columns == old.columns and scored.select(rows.columns).equals(old.select(rows.columns))
    features = rows.select(model.columns)
    complete = ~pl.any_horizontal(
        [
            pl.col(c).is_null() | (pl.col(c).is_nan() if features[c].dtype.is_float() else False)
            for c in model.columns
        ]
    )
    whole = features.select(complete.alias("whole"))["whole"]
    assert 0 < whole.sum() < rows.height  # both kinds of rows are there
    assert_frame_equal(scored.filter(whole), old.filter(whole), check_exact=True)


def test_the_old_model_saved_again_writes_each_type_its_own_fields(tmp_path: Path) -> None:
    path = aef.load(DATA / "old_model").save(tmp_path / "again")
    columns = json.loads((path / MANIFEST).read_text())["preprocessing"]["columns"]
    assert "levels" not in columns[0] and "center" not in next(
        c for c in columns if c["kind"] == "categorical"
    )
    rows = pl.read_parquet(DATA / "old_rows.parquet")
    again = aef.load(path)
    assert_same_scores(again, rows, again.transform(rows, per_feature_errors=True))


def test_a_new_model_rewritten_in_the_old_shape_loads_and_scores_the_same(tmp_path: Path) -> None:
    rows = make_mixed(300)
    path = aef.fit(rows, exclude=["id", "label"], epochs=2, seed=0, threads=1).save(tmp_path / "new")
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["preprocessing"]["columns"] = [
        {**EVERY_FIELD, **{k: v for k, v in column.items() if k != "most_frequent"}}
        for column in manifest["preprocessing"]["columns"]
    ]
    old_shape = Path(shutil.copytree(path, tmp_path / "old"))
    (old_shape / MANIFEST).write_text(
        json.dumps(sealed({k: v for k, v in manifest.items() if k != MANIFEST_DIGEST}))
    )
    old, new = aef.load(old_shape), aef.load(path)
    assert [type(s) for s in old.preprocessor.specs] == [type(s) for s in new.preprocessor.specs]
    assert old.preprocessor.baselines == new.preprocessor.baselines
    assert_frame_equal(old.transform(rows), new.transform(rows), check_exact=True)


def test_every_registered_type_is_named_by_its_kind() -> None:
    assert list(TYPES) == ["numeric", "boolean", "categorical", "datetime"]
    for kind, spec in TYPES.items():
        assert spec.kind == kind and issubclass(spec, ColumnSpec)


@pytest.mark.parametrize(
    ("column", "key", "value", "says"),
    [
        (
            0,
            "scale",
            0.0,
            "'preprocessing.columns[0].scale' is 0.0: expected a finite number of at least 1e-12",
        ),
        (
            0,
            "scale",
            1e-320,
            "'preprocessing.columns[0].scale' is 1e-320: expected a finite number of at least",
        ),
        (
            4,
            "levels",
            ["lima", "oslo", "paris", "lima"],
            "'preprocessing.columns[4].levels' is 4 values: expected each once, and 'lima' is there twice",
        ),
        (0, "dtype", "Int8", "'preprocessing.columns[0].dtype' is 'Int8', but schema.yaml declares Float64"),
        (0, "dtype", "__import__('os').system('id')", "column 'x' is not a polars data type"),
        (
            7,
            "dtype",
            "Datetime(time_unit='us', time_zone='Mars/Olympus')",
            "unknown time zone 'Mars/Olympus'",
        ),
        (4, "levels", ["ok", 7], "'preprocessing.columns[4].levels[1]' is 7: expected a string"),
        (
            4,
            "rare_hash_limit",
            -1,
            "'preprocessing.columns[4].rare_hash_limit' is -1: expected a whole number",
        ),
        (4, "most_frequent", 3, "'preprocessing.columns[4].most_frequent' is 3: expected a string"),
        (6, "parts", "absolute", "'preprocessing.columns[6].parts' is 'absolute': expected a JSON list"),
    ],
)
def test_each_type_checks_its_own_fields_at_load(
    tmp_path: Path, column: int, key: str, value: object, says: str
) -> None:
    directory = Path(shutil.copytree(DATA / "old_model", tmp_path / "model"))
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["preprocessing"]["columns"][column][key] = value
    (directory / MANIFEST).write_text(
        json.dumps(sealed({k: v for k, v in manifest.items() if k != MANIFEST_DIGEST}))
    )
    with pytest.raises(ModelFileError) as raised:
        aef.load(directory)
    assert says in str(raised.value)
