"""ONNX export: onnxruntime gives the values torch gives, on mixed-type and on numeric data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.integrations.onnx import export_onnx
from tests.helpers import run_cli


def run_onnx(path: Path, model: aef.AutoencoderModel, frame: pl.DataFrame) -> dict[str, np.ndarray]:
    encoded = model.preprocessor.encode(frame.select(model.columns))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    arrays = {"inputs": encoded.inputs, "observed": encoded.observed, "targets": encoded.targets}
    feeds = {i.name: arrays[i.name] for i in session.get_inputs()}  # no 'targets' without categorical columns
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def assert_same_as_transform(
    outputs: dict[str, np.ndarray], model: aef.AutoencoderModel, frame: pl.DataFrame
) -> None:
    expected = model.transform(frame, per_feature_errors=True)
    p = model.config.prefix
    codes = expected.select([f"{p}z{i}" for i in range(model.latent_dim)]).to_numpy()
    np.testing.assert_allclose(outputs["codes"], codes, rtol=1e-5, atol=1e-5)
    per_column = expected.select([f"{p}error__{c}" for c in model.columns]).to_numpy()
    # Errors square a difference of nearly equal float32 values: a few ulps of the reconstruction
    # become 1e-5 of the error, so errors are compared at 1e-4.
    np.testing.assert_allclose(outputs["column_errors"], per_column, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(outputs["errors"], expected[f"{p}error"].to_numpy(), rtol=1e-4, atol=1e-4)


def test_cli_export_matches_torch_on_mixed_data(
    fitted_model_dir: Path, mixed_parquet: Path, tmp_path: Path
) -> None:
    target = tmp_path / "model.onnx"
    result = run_cli("export", fitted_model_dir, "--onnx", target, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"onnx": str(target)}
    model = aef.load(fitted_model_dir)
    names = [i.name for i in onnxruntime.InferenceSession(str(target)).get_inputs()]
    assert names == ["inputs", "observed", "targets"]
    frame = pl.read_parquet(mixed_parquet)  # categoricals, missing values, datetimes
    assert_same_as_transform(run_onnx(target, model, frame), model, frame)
    again = run_cli("export", fitted_model_dir, "--onnx", target)
    assert again.returncode == 1 and "--overwrite" in again.stderr


@pytest.mark.parametrize("kind", ["deep", "variational", "sparse-kl"])
def test_export_matches_torch_on_numeric_data(kind: str, anomalies: pl.DataFrame, tmp_path: Path) -> None:
    frame = anomalies  # numeric columns only, unlike the mixed data above
    model = aef.fit(frame, exclude=["label"], kind=kind, epochs=3, threads=1, seed=0)
    path = export_onnx(model, tmp_path / f"{kind}.onnx")
    outputs = run_onnx(path, model, frame)
    assert outputs["codes"].shape == (frame.height, model.latent_dim)
    assert_same_as_transform(outputs, model, frame)


def test_export_matches_torch_with_a_linear_path_started_at_pca(mixed_parquet: Path, tmp_path: Path) -> None:
    frame = pl.read_parquet(mixed_parquet)  # the linear path's links: logits of 0/1 and one-hot inputs
    model = aef.fit(frame, exclude=["id", "label"], goal="features", pca_start=True, epochs=3, threads=1)
    assert model.net_config.linear_path
    path = export_onnx(model, tmp_path / "linear.onnx")
    assert_same_as_transform(run_onnx(path, model, frame), model, frame)


def test_a_gaussian_started_model_is_refused_with_the_fix_and_nothing_written(
    mixed_parquet: Path, tmp_path: Path
) -> None:
    model = aef.fit(
        pl.read_parquet(mixed_parquet), exclude=["id", "label"], goal="imputation", epochs=1, threads=1
    )
    with pytest.raises(aef.ConfigError, match="cannot be exported to ONNX") as refused:
        export_onnx(model, tmp_path / "imputer.onnx")
    assert "gaussian_start=false" in refused.value.hint
    assert not (tmp_path / "imputer.onnx").exists()


def test_metadata_lets_a_consumer_finish_the_columns(
    fitted_model_dir: Path, mixed_parquet: Path, tmp_path: Path
) -> None:
    model = aef.load(fitted_model_dir)
    path = export_onnx(model, tmp_path / "m.onnx")
    props = {p.key: json.loads(p.value) for p in onnx.load(str(path)).metadata_props}
    assert props["aefeatures.columns"] == model.columns
    assert props["aefeatures.preprocessing"] == model.preprocessor.to_dict()
    frame = pl.read_parquet(mixed_parquet)
    errors = run_onnx(path, model, frame)["errors"].astype(np.float64)
    expected = model.transform(frame)
    outlier = errors > props["aefeatures.threshold"]
    near = np.isclose(errors, props["aefeatures.threshold"], rtol=1e-5)
    assert (outlier == expected["ae_outlier"].to_numpy())[~near].all()
    percentile = np.interp(
        errors, props["aefeatures.quantiles"], np.linspace(0, 100, len(props["aefeatures.quantiles"]))
    )
    # Where training errors crowd, a 1e-5 change of an error moves its percentile by a tenth.
    np.testing.assert_allclose(percentile, expected["ae_error_pct"].to_numpy(), atol=0.25)
