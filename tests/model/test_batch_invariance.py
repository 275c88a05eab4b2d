"""A row's appended values do not depend on the rows scored with it: bitwise, on the CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import aefeatures as aef
from aefeatures.nn.kinds import KINDS, entry
from aefeatures.transform.streaming import transform_path
from tests.helpers import make_mixed


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return make_mixed(400, seed=3)


@pytest.mark.parametrize("kind", KINDS)
def test_whole_table_single_rows_and_chunks_give_identical_columns(kind: str, frame: pl.DataFrame) -> None:
    trained = {} if entry(kind).closed_form else {"epochs": 2}  # pca takes no epochs
    model = aef.fit(frame, exclude=["id", "label"], kind=kind, seed=0, threads=1, **trained)
    whole = model.transform(frame, per_feature_errors=True)
    one_by_one = pl.concat([model.transform(frame[i : i + 1], per_feature_errors=True) for i in range(60)])
    chunks = pl.concat(
        [model.transform(frame[i : i + 37], per_feature_errors=True) for i in range(0, 400, 37)]
    )
    appended = model.output_names(per_feature_errors=True)
    assert whole.head(60).select(appended).equals(one_by_one.select(appended))
    assert whole.select(appended).equals(chunks.select(appended))


def test_streamed_batches_match_the_whole_table(frame: pl.DataFrame, tmp_path: Path) -> None:
    model = aef.fit(frame, exclude=["id", "label"], epochs=2, seed=0, threads=1)
    frame.write_parquet(tmp_path / "in.parquet")
    transform_path(model, tmp_path / "in.parquet", tmp_path / "out.parquet", batch_rows=33)
    streamed = pl.read_parquet(tmp_path / "out.parquet").select(model.output_names())
    assert streamed.equals(model.transform(frame).select(model.output_names()))


def test_a_warning_says_when_torch_ran_before_aefeatures_set_reproducible_products() -> None:
    script = (
        "import torch;"
        "x = torch.sin(torch.arange(64 * 18.0)).reshape(64, 18); w = torch.cos(torch.arange(54.0)).reshape(3, 18);"
        "f = torch.nn.functional.linear;"  # MKL starts in its default mode here
        "print(not torch.equal(f(x, w)[:-1], f(torch.roll(x, 1, 0), w)[1:]));"
        "from aefeatures.devices import warn_if_scores_depend_on_the_batch;"
        "warn_if_scores_depend_on_the_batch()"
    )
    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    depends_on_alignment = done.stdout.strip() == "True"
    assert ("MKL_CBWR=AUTO" in done.stderr) == depends_on_alignment
