"""A table without variation is said at fit, and its tied scores do not pretend to rank rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from tests.helpers import make_mixed, run_cli

FIT = {"epochs": 3, "seed": 0, "threads": 1}


def _constant(rows: int = 200) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "amount": [1.5] * rows,
            "count": [5] * rows,
            "city": ["Oslo"] * rows,
            "flag": [True] * rows,
            "when": pl.datetime_range(
                pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 1), "1d", eager=True
            ).extend_constant(pl.datetime(2024, 1, 1), rows - 1),
        }
    )


def test_a_table_with_no_variation_warns_naming_every_column_and_scores_the_middle(
    caplog: pytest.LogCaptureFixture,
) -> None:
    frame = _constant()
    with caplog.at_level("WARNING", logger="aefeatures"):
        model = aef.fit(frame, **FIT)
    assert "all 200 training rows have the same ae_error" in caplog.text
    assert "ae_error_pct cannot rank them (each gets 50)" in caplog.text
    assert all(repr(name) in caplog.text for name in frame.columns)
    scored = model.transform(frame)
    assert scored["ae_error_pct"].unique().to_list() == [50.0]  # not 100: no row is above the others
    assert not scored["ae_outlier"].any()


def test_an_all_but_constant_table_warns_and_its_tied_rows_share_the_middle_percentile(
    caplog: pytest.LogCaptureFixture,
) -> None:
    frame = pl.DataFrame({"x": [1.0] * 399 + [9.0], "y": [2.0] * 400, "z": ["a"] * 398 + ["b", "c"]})
    with caplog.at_level("WARNING", logger="aefeatures"):
        model = aef.fit(frame, **FIT)
    assert "training rows have the same ae_error" in caplog.text
    assert "every column hardly varies" in caplog.text and "'x'" in caplog.text
    scored = model.transform(frame)
    tied = scored.head(398)["ae_error_pct"].unique().to_list()
    assert len(tied) == 1 and 40.0 < tied[0] < 60.0  # the middle of the tie, not its top


def test_a_constant_column_in_a_varied_table_is_named_with_the_fix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    frame = make_mixed(300).with_columns(pl.lit(7.0).alias("same"), pl.lit("k").alias("label2"))
    with caplog.at_level("WARNING", logger="aefeatures"):
        model = aef.fit(frame, exclude=["id", "label"], **FIT)
    assert "columns 'same', 'label2' have one value in every training row" in caplog.text
    assert "--exclude same,label2" in caplog.text
    assert "have the same ae_error" not in caplog.text  # the other columns vary: the scores rank
    percentiles = model.transform(frame)["ae_error_pct"]
    assert percentiles.n_unique() > 250 and percentiles.max() == pytest.approx(100.0)


def test_two_rows_with_different_errors_are_no_tie() -> None:
    from aefeatures.fitting.variation import tied_errors_warning

    frame = pl.DataFrame({"x": [1.0, 2.0]})
    assert tied_errors_warning(frame, np.array([0.1, 0.3]), lambda e: np.zeros(len(e))) is None
    assert "all 2 training rows" in str(tied_errors_warning(frame, np.array([0.2, 0.2]), np.zeros_like))


def test_the_cli_fit_of_a_constant_table_says_so_on_stderr(tmp_path: Path) -> None:
    data = tmp_path / "flat.parquet"
    _constant(120).write_parquet(data)
    done = run_cli("fit", data, "--model", tmp_path / "m", "--epochs", "2", "--threads", "1")
    assert done.returncode == 0, done.stderr
    assert "all 120 training rows have the same ae_error" in done.stderr


def test_the_percentile_of_a_tie_is_its_middle_and_untied_errors_are_unchanged() -> None:
    from aefeatures.model.scoring import Calibration

    rng = np.random.default_rng(0)
    varied = Calibration.from_errors(rng.normal(size=500) ** 2, 0.01)
    errors = np.array([0.0, 0.1, 1.0, 50.0])
    levels = np.linspace(0.0, 100.0, len(varied.quantiles))
    assert np.array_equal(varied.percentile(errors), np.interp(errors, np.asarray(varied.quantiles), levels))
    flat = Calibration.from_errors(np.array([2.0] * 9 + [3.0]), 0.01)
    below, tie, above = flat.percentile(np.array([1.0, 2.0, 4.0]))
    assert below == 0.0 and above == 100.0 and 40.0 < tie < 50.0
