"""MLflow flavor: pyfunc predict equals transform, nothing is a pickle, checksums still guard loads.

Every test logs to a real file tracking store under ``tmp_path`` and loads back through
MLflow's own entry points (``mlflow.pyfunc.load_model``, ``spark_udf``, ``models:/`` URIs).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import mlflow
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import aefeatures as aef
import aefeatures.mlflow as aem
from aefeatures.errors import ModelFileError, OutputExistsError
from aefeatures.integrations.mlflow_signature import EXAMPLE_ROWS
from tests.conftest import make_mixed, run_cli

LOADER = "aefeatures.integrations.mlflow"

pytestmark = [
    # MLflow's own warnings on pandas 3 and on integer columns of an input example.
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
    pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer column"),
]


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local file tracking store and model registry, used through the environment."""
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3.x asks for this opt-in
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    yield uri
    mlflow.end_run()


@pytest.fixture(scope="module")
def model(fitted_model_dir: Path) -> aef.AutoencoderModel:
    return aef.load(fitted_model_dir, device="cpu")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Fresh rows as pandas, with a non-default index and the id/label pass-through columns."""
    data = make_mixed(rows=250, seed=5).to_pandas()
    data.index = pd.Index(np.arange(len(data)) * 3 + 100, name="row")
    return data


def _artifact_dir(info: object) -> Path:
    location = mlflow.get_logged_model(info.model_id).artifact_location  # type: ignore[attr-defined]
    return Path(unquote(urlparse(location).path))


def _appended(model: aef.AutoencoderModel, per_feature_errors: bool = False) -> list[str]:
    return model.output_names(per_feature_errors)


def test_pyfunc_predict_equals_transform(
    tracking: str, model: aef.AutoencoderModel, frame: pd.DataFrame
) -> None:
    with mlflow.start_run():
        info = aem.log_model(model, "features", input_example=frame.head(4))
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    out = loaded.predict(frame)
    expected = model.transform(frame)
    names = _appended(model)
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == [*frame.columns, *names]
    pd.testing.assert_index_equal(out.index, frame.index)
    pd.testing.assert_frame_equal(out[names].reset_index(drop=True), expected[names].reset_index(drop=True))
    for name in frame.columns:  # the inputs come back as given (MLflow makes datetimes ns)
        pd.testing.assert_series_equal(out[name], frame[name], check_dtype=name != "seen")
    assert loaded.metadata.flavors["python_function"]["loader_module"] == LOADER
    assert isinstance(loaded.get_raw_model(), aef.AutoencoderModel)


def test_pyfunc_predict_imputes_when_asked(
    tracking: str, model: aef.AutoencoderModel, frame: pd.DataFrame
) -> None:
    with mlflow.start_run():
        info = aem.log_model(model, "features", input_example=frame.head(4))
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    holed = frame.copy()
    holed.loc[holed.index[::3], "x"] = np.nan
    out = loaded.predict(holed, params={"task": "impute"})
    assert out.columns.tolist() == frame.columns.tolist()
    pd.testing.assert_index_equal(out.index, frame.index)
    assert not out["x"].isna().any()
    kept = holed["x"].notna()
    np.testing.assert_array_equal(out.loc[kept, "x"].to_numpy(), holed.loc[kept, "x"].to_numpy())
    expected = model.impute(holed)
    np.testing.assert_array_equal(out["x"].to_numpy(), expected["x"].to_numpy())


def test_signature_lists_features_pass_through_and_appended_types(
    tracking: str, model: aef.AutoencoderModel, frame: pd.DataFrame
) -> None:
    with mlflow.start_run():
        info = aem.log_model(model, "features", input_example=frame.head(4))
    inputs = {spec.name: spec for spec in info.signature.inputs.inputs}
    assert list(inputs) == frame.columns.tolist()
    assert {name for name, spec in inputs.items() if spec.required} == set(model.columns)
    assert inputs["seen"].type.name == "datetime" and inputs["segment"].type.name == "string"
    outputs = {spec.name: spec.type.name for spec in info.signature.outputs.inputs}
    assert outputs == {
        **{f"ae_z{i}": "float" for i in range(model.latent_dim)},
        "ae_error": "double",
        "ae_error_pct": "double",
        "ae_outlier": "boolean",
    }
    # Without an example: rows made from the model's statistics, typed like the signature.
    default = aem.model_signature(model)
    assert [spec.name for spec in default.inputs.inputs] == model.columns
    assert default.inputs.input_dict()["income"].type.name == "double"  # it had missing values
    assert default.inputs.input_dict()["count"].type.name == "long"


def test_load_model_round_trip_and_registry(
    tracking: str, model: aef.AutoencoderModel, frame: pd.DataFrame
) -> None:
    with mlflow.start_run():
        info = aem.log_model(model, "features", registered_model_name="customer-features")
    assert info.registered_model_version == 1
    for uri in (info.model_uri, "models:/customer-features/1"):
        again = aem.load_model(uri, device="cpu")
        assert isinstance(again, aef.AutoencoderModel)
        assert again.columns == model.columns and again.threshold == model.threshold
        pd.testing.assert_frame_equal(again.transform(frame), model.transform(frame))
    example = json.loads((_artifact_dir(info) / "input_example.json").read_text())
    assert example["columns"] == model.columns and len(example["data"]) == EXAMPLE_ROWS


def test_logged_model_holds_no_pickle(
    tracking: str, model: aef.AutoencoderModel, frame: pd.DataFrame
) -> None:
    with mlflow.start_run():
        info = aem.log_model(model, "features", input_example=frame.head(3))
    root = _artifact_dir(info)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    code = [name for name in files if name.startswith("code/")]
    assert "code/aefeatures/__init__.py" in code and "code/aefeatures/integrations/mlflow.py" in code
    assert all(name.endswith((".py", "py.typed")) for name in code), code  # source only, no caches
    files = [name for name in files if name not in code]
    assert files == [
        "MLmodel",
        "conda.yaml",
        "input_example.json",
        "model/aefeatures.json",
        "model/model.safetensors",
        "model/report.html",
        "model/schema.yaml",
        "python_env.yaml",
        "requirements.txt",
        "serving_input_example.json",
    ]
    for name in files:
        assert not name.endswith((".pkl", ".pickle")), name
        assert not (root / name).read_bytes().startswith(b"\x80"), f"{name} starts like a pickle"
    conf = mlflow.models.Model.load(str(root / "MLmodel")).flavors
    assert conf["python_function"]["loader_module"] == LOADER
    assert conf["python_function"]["data"] == "model"
    assert conf["aefeatures"]["model_data"] == "model"
    assert conf["python_function"]["code"] == conf["aefeatures"]["code"] == "code"
    requirements = (root / "requirements.txt").read_text().splitlines()
    assert not any(line.startswith("aefeatures") for line in requirements), requirements  # on no index
    pinned = dict(line.split("==") for line in requirements)  # every one pinned to what is installed
    assert {"torch", "polars", "pyarrow", "pandera[io,polars]", "safetensors"} <= pinned.keys()
    for name, version in pinned.items():
        assert importlib.metadata.version(name.split("[")[0]).split("+")[0] == version, name


def test_exported_model_is_served_from_its_own_files(
    fitted_model_dir: Path, model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    """A fresh process where aefeatures is not installed loads the model with mlflow.pyfunc alone."""
    target = tmp_path / "exported"
    assert run_cli("export", fitted_model_dir, "--format", "mlflow", "-o", target).returncode == 0
    rows = make_mixed(rows=60, seed=8)
    rows.write_parquet(tmp_path / "rows.parquet")
    # Site-packages on sys.path without its .pth files: the editable install's finder is not
    # there, so `import aefeatures` can only find the copy in the model's code/ directory.
    script = f"""
import sys
sys.path.append({sysconfig.get_paths()["purelib"]!r})
try:
    import aefeatures
    raise SystemExit("aefeatures is importable before the model is loaded")
except ImportError:
    pass
import mlflow.pyfunc, pandas as pd
served = mlflow.pyfunc.load_model({str(target)!r})
import aefeatures
assert aefeatures.__file__.startswith({str(target / "code")!r}), aefeatures.__file__
served.predict(pd.read_parquet({str(tmp_path / "rows.parquet")!r})).to_parquet({str(tmp_path / "out.parquet")!r})
"""
    done = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    names = _appended(model)
    served = pd.read_parquet(tmp_path / "out.parquet")
    pd.testing.assert_frame_equal(served[names], model.transform(rows.to_pandas())[names])


def test_tampered_weights_fail_with_model_file_error(
    tracking: str, model: aef.AutoencoderModel, fitted_model_dir: Path, tmp_path: Path
) -> None:
    with mlflow.start_run():
        info = aem.log_model(model, "features", input_example=False)
    weights = _artifact_dir(info) / "model" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        mlflow.pyfunc.load_model(info.model_uri)
    with pytest.raises(ModelFileError, match="checksum"):
        aem.load_model(info.model_uri)
    source = shutil.copytree(fitted_model_dir, tmp_path / "copy")  # a tampered directory is not exported
    (source / "schema.yaml").write_text((source / "schema.yaml").read_text() + "\n# edited\n")
    with pytest.raises(ModelFileError, match="checksum"):
        aem.save_model(source, tmp_path / "export")
    assert not (tmp_path / "export").exists()


def test_save_model_from_directory_without_signature_passes_polars_and_arrow(
    model: aef.AutoencoderModel, fitted_model_dir: Path, tmp_path: Path
) -> None:
    path = aem.save_model(
        fitted_model_dir, tmp_path / "m", signature=False, input_example=False, per_feature_errors=True
    )
    assert (path / "model" / "aefeatures.json").read_bytes() == (
        fitted_model_dir / "aefeatures.json"
    ).read_bytes()
    loaded = mlflow.pyfunc.load_model(str(path))
    rows = make_mixed(rows=120, seed=6)
    expected = model.transform(rows, per_feature_errors=True)
    polars_out = loaded.predict(rows)
    assert isinstance(polars_out, pl.DataFrame) and polars_out.equals(expected)
    arrow_out = loaded.predict(rows.to_arrow())
    assert isinstance(arrow_out, pa.Table) and arrow_out.equals(expected.to_arrow())
    with pytest.raises(OutputExistsError, match="already exists"):
        aem.save_model(model, path)
    with pytest.raises(OutputExistsError, match="input"):  # never written over the model it reads
        aem.save_model(fitted_model_dir, fitted_model_dir, overwrite=True)
    assert (fitted_model_dir / "aefeatures.json").is_file()


def test_overwrite_replaces_an_mlflow_export(model: aef.AutoencoderModel, tmp_path: Path) -> None:
    path = aem.save_model(model, tmp_path / "m", input_example=False, per_feature_errors=True)
    aem.save_model(model, path, overwrite=True)
    rows = make_mixed(rows=20, seed=9).to_pandas()
    assert "ae_error__x" not in mlflow.pyfunc.load_model(str(path)).predict(rows).columns


def test_cli_export_mlflow_in_a_subprocess(
    fitted_model_dir: Path, model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    target = tmp_path / "exported"
    result = run_cli("export", fitted_model_dir, "--format", "mlflow", "--output", target, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"format": "mlflow", "output": str(target)}
    rows = make_mixed(rows=80, seed=7).to_pandas()
    out = mlflow.pyfunc.load_model(str(target)).predict(rows)
    names = _appended(model)
    pd.testing.assert_frame_equal(out[names], model.transform(rows)[names])
    again = run_cli("export", fitted_model_dir, "--format", "mlflow", "--output", target)
    assert again.returncode == 1 and "--overwrite" in again.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exported"]  # no temporary left behind
    bad = run_cli("export", fitted_model_dir, "--format", "pickle", "--output", tmp_path / "x")
    assert bad.returncode == 2 and "--format" in bad.stderr


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_udf_returns_the_appended_columns_as_a_struct(
    spark, model: aef.AutoencoderModel, fitted_model_dir: Path, tmp_path: Path
) -> None:
    path = aem.save_model(fitted_model_dir, tmp_path / "m")
    rows = spark.createDataFrame(make_mixed(rows=700, seed=8).to_pandas()).repartition(2)
    udf = mlflow.pyfunc.spark_udf(spark, str(path))  # result type: struct of the output signature
    scored = rows.withColumn("features", udf()).select("id", "features.*").toPandas()
    names = _appended(model)
    assert scored.columns.tolist() == ["id", *names]
    expected = model.transform(rows.toPandas()).set_index("id").loc[scored["id"], names]
    pd.testing.assert_frame_equal(scored.set_index("id")[names], expected, check_names=False)
    one = mlflow.pyfunc.spark_udf(spark, str(path), result_type="ae_error double")
    errors = rows.select("id", one().ae_error.alias("e")).toPandas().set_index("id")["e"]
    np.testing.assert_array_equal(errors.loc[scored["id"]].to_numpy(), scored["ae_error"].to_numpy())
