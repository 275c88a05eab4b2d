"""Scores and calibration: ae_error in units of a typical training row's error, percentiles of the
training errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import aefeatures as aef
from aefeatures.model.scoring import Calibration


def test_fitted_model_scores_typical_training_row_at_one(anomalies_parquet: Path, tmp_path: Path) -> None:
    model = aef.fit(anomalies_parquet, exclude=["label"], epochs=8, seed=0, threads=1)
    out = model.transform(anomalies_parquet, per_feature_errors=True)
    medians = np.array([out[f"ae_error__{c}"].median() for c in model.columns])
    floored = medians < 1.0 - 1e-4  # columns reconstructed better than the floor allows
    assert np.allclose(medians[~floored], 1.0, rtol=1e-4)
    assert (~floored).sum() >= len(model.columns) // 2
    labels = out["label"].to_numpy().astype(bool)
    assert out["ae_error"].to_numpy()[labels].mean() > out["ae_error"].to_numpy()[~labels].mean()
    reloaded = aef.load(model.save(tmp_path / "anomalies")).transform(anomalies_parquet)
    np.testing.assert_array_equal(reloaded["ae_error"].to_numpy(), out["ae_error"].to_numpy())


def test_percentiles_interpolate_the_training_quantiles() -> None:
    rng = np.random.default_rng(3)
    calibration = Calibration.from_errors(rng.gamma(2.0, size=5000), contamination=0.01)
    errors = np.concatenate(
        [rng.gamma(2.0, size=3000), [0.0, -1.0, 1e9, np.median(calibration.quantiles)] * 3]
    )
    rng.shuffle(errors)
    expected = np.interp(errors, calibration.quantiles, np.linspace(0.0, 100.0, len(calibration.quantiles)))
    assert np.array_equal(calibration.percentile(errors), expected)
    assert calibration.percentile(np.array([-1.0, 1e9])).tolist() == [0.0, 100.0]
