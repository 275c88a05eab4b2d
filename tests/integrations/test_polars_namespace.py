"""The df.ae / lf.ae namespace: fit and transform like the functions, lazy frames stay lazy."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

import aefeatures as aef
import aefeatures.integrations.polars_namespace  # noqa: F401  (registers df.ae / lf.ae)


def test_frame_namespace_fits_like_fit(mixed_parquet: Path) -> None:
    frame = pl.read_parquet(mixed_parquet)
    via_namespace = frame.ae.fit(exclude=["id", "label"], epochs=3, seed=5, threads=1)
    via_function = aef.fit(frame, exclude=["id", "label"], epochs=3, seed=5, threads=1)
    assert via_namespace.columns == via_function.columns
    assert_frame_equal(via_namespace.transform(frame), via_function.transform(frame))


def test_frame_namespace_transforms_with_a_model_or_its_directory(
    model: aef.AutoencoderModel, fitted_model_dir: Path, mixed_parquet: Path
) -> None:
    frame = pl.read_parquet(mixed_parquet)
    expected = model.transform(frame, per_feature_errors=True)
    assert_frame_equal(frame.ae.transform(model, per_feature_errors=True), expected)
    assert_frame_equal(frame.ae.transform(fitted_model_dir, per_feature_errors=True), expected)
    assert_frame_equal(frame.ae.drift(model), model.drift(frame))


def test_lazy_namespace_stays_lazy(model: aef.AutoencoderModel, mixed_parquet: Path) -> None:
    lazy = pl.scan_parquet(mixed_parquet)
    out = lazy.ae.transform(model)
    assert isinstance(out, pl.LazyFrame)
    assert_frame_equal(out.collect(), model.transform(pl.read_parquet(mixed_parquet)))
    fitted = lazy.ae.fit(exclude=["id", "label"], epochs=2, threads=1)
    assert fitted.columns == model.columns
