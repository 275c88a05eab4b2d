"""The core works on a clean install: the wheel alone, in a fresh venv, outside the repository.

The rest of the suite runs in the development venv, which holds every extra (pandas, scikit-learn,
ONNX, MLflow, ...), so a core feature that silently needs one of them passes there and fails for a
user who ran ``pip install aefeatures``. Here the wheel is built from a copy of the sources,
installed with nothing but ``torch==2.13.0`` (the CPU build, first, so pip never reaches for a CUDA
one) and what its ``[project] dependencies`` declare, and every core command of the README runs
from a directory outside the checkout, hand-written schema files with checks included (pandera's
polars YAML/JSON reader imports pandas for the statistics of every check).

One venv for the module, removed afterwards: with pip's cache, about 35 s to build, install and run
the demo, 40 s for the rest (80 s in all on 2 busy cores).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow

TORCH = "torch==2.13.0"  # the CPU wheel; an unpinned torch would pull a multi-GB CUDA build
ROWS = 1500
# What the build reads; everything else (the dev venv, build/, caches) stays out of the copy.
SOURCES = ["pyproject.toml", "README.md", "aefeatures", "setup.py", "setup.cfg", "MANIFEST.in"]
# Test-only and optional packages: none of them may come in with the core.
NOT_CORE = [
    "pytest",
    "hypothesis",
    "scikit-learn",
    "onnx",
    "onnxruntime",
    "mlflow-skinny",
    "pyspark",
    "dagster",
]

# A schema as a user writes it for the demo table (pandera's documented polars YAML format: the
# checks nested under ``checks``). Every kind of check statistic is there: numbers, lists, a range
# and a datetime (which pandera parses with pandas).
SCHEMA_YAML = """\
schema_type: polars_dataframe
api: polars
name: customers_handwritten
coerce: true
strict: false
columns:
  customer_id:
    dtype: Int64
    unique: true
    checks:
      greater_than: 0
  age:
    dtype: Int64
    checks:
      in_range:
        min_value: 0
        max_value: 130
  income:
    dtype: Float64
    nullable: true
    checks:
      greater_than: 0
  plan:
    dtype: Categorical
    checks:
      isin: [basic, plus, premium, enterprise]
  region:
    dtype: String
    checks:
      isin: [north, south, east, west, central, coast, mountain, islands]
  tenure_months:
    dtype: Int64
    checks:
      greater_than_or_equal_to: 0
  monthly_spend:
    dtype: Float64
    checks:
      greater_than_or_equal_to: 0
  is_active:
    dtype: Boolean
  signup_date:
    dtype: Datetime(time_unit='us', time_zone=None)
    checks:
      greater_than: "2000-01-01 00:00:00"
"""

# The same kind of rules in the flat JSON form that pandera's ``to_json`` writes.
SCHEMA_JSON = {
    "schema_type": "polars_dataframe",
    "api": "polars",
    "name": "customers_flat",
    "coerce": True,
    "columns": {
        "age": {"dtype": "Int64", "greater_than_or_equal_to": 0, "less_than": 131},
        "income": {"dtype": "Float64", "nullable": True, "greater_than": 0},
        "plan": {"dtype": "Categorical", "isin": ["basic", "plus", "premium", "enterprise"]},
    },
}

# Rows that break the checks: an age of -3 (in_range) and an unknown plan (isin).
WRITE_BAD_ROWS = """\
import polars as pl
data = pl.read_parquet("demo/customers.parquet")
bad = data.with_columns(
    pl.when(pl.col("customer_id") == 5).then(-3).otherwise(pl.col("age")).alias("age"),
    pl.when(pl.col("customer_id") == 7).then(pl.lit("gold")).otherwise(pl.col("plan").cast(pl.String))
    .cast(pl.Categorical).alias("plan"),
)
bad.write_parquet("bad.parquet")
"""

# The README's polars pipeline, with the model's stored checked schema read back by aef.load.
PYTHON_API = """\
import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

import aefeatures as aef
import aefeatures.polars_namespace  # noqa: F401  (registers df.ae)
from aefeatures.streaming import transform_path

assert Path(aef.__file__).resolve().is_relative_to(Path(__import__("sys").prefix).resolve()), aef.__file__
model = aef.fit("demo/customers.parquet", schema="schema.yaml", exclude=["customer_id", "is_anomaly"],
                epochs=3, seed=0)
names = model.output_names()
out = pl.read_parquet("demo/customers.parquet").pipe(model.transform)
lazy = pl.scan_parquet("demo/customers.parquet").pipe(model.transform)
assert isinstance(lazy, pl.LazyFrame)
assert lazy.collect().equals(out)
table = model.transform(pq.read_table("demo/customers.parquet"))
assert type(table).__name__ == "Table" and table.num_rows == out.height
drift = pl.read_parquet("demo/customers.parquet").ae.drift(model)
model.save("api_model")
again = aef.load("api_model", device="cpu")
assert again.transform(pl.read_parquet("demo/customers.parquet")).equals(out)
try:
    again.transform(pl.read_parquet("bad.parquet"))
except aef.SchemaValidationError as exc:
    caught = str(exc)
else:
    raise AssertionError("the loaded model's schema checks were not enforced")
transform_path(again, "demo/customers.parquet", "streamed.parquet")
assert pl.read_parquet("streamed.parquet").equals(out)
print(json.dumps({"columns": out.columns, "names": names, "caught": caught, "info": sorted(again.info())}))
"""


@dataclass
class CleanVenv:
    venv: Path
    work: Path
    env: dict[str, str]

    def run(self, *args: str | Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        exe, *rest = (str(a) for a in args)
        exe = str(self.venv / "bin" / exe)
        return subprocess.run(
            [exe, *rest], cwd=self.work, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def ok(self, *args: str | Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, timeout=timeout)
        command = " ".join(map(str, args))
        assert result.returncode == 0, f"{command[:200]}: exit {result.returncode}\n{result.stderr[-4000:]}"
        return result

    def cli(self, *args: str | Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        return self.ok("aefeatures", *args, timeout=timeout)


def _clean_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA"))}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        AEFEATURES_DEBUG="1",  # a traceback in the failure message
        OMP_NUM_THREADS="1",
    )
    return env


def _pip(python: Path, *args: str | Path, env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"pip {args}: exit {result.returncode}\n{result.stderr[-4000:]}"


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CleanVenv]:
    """The wheel and its declared dependencies alone in a new venv; demo data written by that venv."""
    root = tmp_path_factory.mktemp("clean_install")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif path.is_file():
            shutil.copy2(path, source / name)
    build_env = _clean_env(Path(sys.prefix))
    _pip(
        Path(sys.executable),
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        root / "wheel",
        source,
        env=build_env,
        cwd=root,
    )
    (wheel,) = (root / "wheel").glob("aefeatures-*.whl")

    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = _clean_env(venv)
    python = venv / "bin" / "python"
    _pip(python, "install", "-q", TORCH, env=env, cwd=root)
    _pip(python, "install", "-q", wheel, TORCH, env=env, cwd=root)  # torch named again: never replaced

    work = root / "work"  # outside the repository: nothing can be imported from the checkout
    work.mkdir()
    (work / "schema.yaml").write_text(SCHEMA_YAML)
    (work / "schema.json").write_text(json.dumps(SCHEMA_JSON))
    clean = CleanVenv(venv, work, env)
    clean.cli("demo", "--rows", str(ROWS), "--dir", "demo", "-q")
    clean.ok("python", "-c", WRITE_BAD_ROWS)
    yield clean
    shutil.rmtree(venv, ignore_errors=True)  # about 1 GB, mostly torch; the outputs in work/ stay


def test_only_the_core_is_installed(clean: CleanVenv) -> None:
    clean.ok("python", "-m", "pip", "check")
    installed = {
        p["name"].lower()
        for p in json.loads(clean.ok("python", "-m", "pip", "list", "--format", "json").stdout)
    }
    assert "aefeatures" in installed
    assert not installed & set(NOT_CORE), installed & set(NOT_CORE)
    torch = clean.ok("python", "-c", "import torch; print(torch.__version__)").stdout
    assert torch.startswith("2.13.0"), torch
    where = clean.ok("python", "-c", "import aefeatures; print(aefeatures.__file__)").stdout.strip()
    assert Path(where).is_relative_to(clean.venv), where


def test_demo_wrote_data_model_features_and_report(clean: CleanVenv) -> None:
    demo = clean.work / "demo"
    assert (demo / "customers.parquet").is_file() and (demo / "customers_features.parquet").is_file()
    assert (demo / "model" / "report.html").stat().st_size > 10_000


def test_cli_with_handwritten_schema_files_with_checks(clean: CleanVenv) -> None:
    data = "demo/customers.parquet"
    assert "conform" in clean.cli("validate", data, "--schema", "schema.yaml").stdout
    clean.cli("validate", data, "--schema", "schema.json")
    for schema in ("schema.yaml", "schema.json"):
        failed = clean.run("aefeatures", "validate", "bad.parquet", "--schema", schema)
        assert failed.returncode == 1, failed.stderr[-3000:]
        assert "'age'" in failed.stderr and "'plan'" in failed.stderr and "isin" in failed.stderr

    fit = clean.cli(
        "fit", data, "--schema", "schema.yaml", "-x", "customer_id,is_anomaly", "-m", "model",
        "--epochs", "3", "--threads", "1", "--json",
    )  # fmt: skip
    assert json.loads(fit.stdout)
    stored = (clean.work / "model" / "schema.yaml").read_text()
    assert "isin" in stored and "greater_than" in stored

    clean.cli("transform", data, "-m", "model", "-o", "features.parquet", "--threads", "1")
    columns = clean.ok(
        "python", "-c", "import polars as pl; print(pl.read_parquet('features.parquet').columns)"
    ).stdout
    assert "ae_error" in columns and "ae_outlier" in columns and "ae_z0" in columns
    rejected = clean.run(
        "aefeatures", "transform", "bad.parquet", "-m", "model", "-o", "bad_features.parquet"
    )
    assert rejected.returncode == 1 and "isin" in rejected.stderr, rejected.stderr[-3000:]
    assert not (clean.work / "bad_features.parquet").exists()

    info = json.loads(clean.cli("info", "model", "--json").stdout)
    assert info["kind"] == "denoising" and [c["name"] for c in info["columns"]][0] == "age"
    assert json.loads(clean.cli("validate", data, "-m", "model", "--json").stdout)["valid"] is True
    clean.cli("report", "model", "-o", "report.html")
    assert (clean.work / "report.html").stat().st_size > 10_000


def test_cli_core_commands(clean: CleanVenv) -> None:
    data = "demo/customers.parquet"
    (clean.work / "schemas").mkdir()
    clean.cli("schema", "infer", data, "-o", "schemas/inferred.yaml", "-x", "is_anomaly")
    clean.cli("validate", data, "--schema", "schemas/inferred.yaml")
    compared = clean.cli(
        "compare", data, "-x", "customer_id", "--label", "is_anomaly", "--kinds", "undercomplete",
        "--sizes", "2", "--epochs", "2", "--threads", "1", "--json",
    )  # fmt: skip
    assert json.loads(compared.stdout)
    # The ETL step on a hive directory, then the Python entry points.
    clean.ok(
        "python",
        "-c",
        textwrap.dedent("""\
            import polars as pl
            data = pl.read_parquet("demo/customers.parquet").with_columns(part=pl.col("customer_id") % 2)
            data.write_parquet("landing", partition_by="part")
        """),
    )
    (clean.work / "features").mkdir()
    clean.cli(
        "transform", "landing", "-m", "demo/model", "-o", "features/day", "--on-drift", "fail",
        "--json", "--threads", "1",
    )  # fmt: skip
    assert sorted(p.parent.name for p in (clean.work / "features" / "day").rglob("*.parquet")) == [
        "part=0",
        "part=1",
    ]
    assert "fit" in clean.ok("python", "-m", "aefeatures", "--help").stdout
    distributed = clean.ok(
        "python", "-m", "aefeatures.distributed", data, "ddp_model", "-x", "customer_id,is_anomaly",
        "--schema", "schema.yaml", "--set", "epochs=2",
    )  # fmt: skip
    assert json.loads(distributed.stdout.strip().splitlines()[-1]) == {"model": "ddp_model"}
    # An extra that is not installed is a clear error, not a traceback.
    onnx = clean.run("aefeatures", "export", "demo/model", "-o", "model.onnx")
    assert onnx.returncode == 1 and "'.[onnx]'" in onnx.stderr, onnx.stderr[-3000:]


def test_python_api(clean: CleanVenv) -> None:
    result = json.loads(clean.ok("python", "-c", PYTHON_API).stdout.strip().splitlines()[-1])
    assert result["columns"][-len(result["names"]) :] == result["names"]
    assert "isin" in result["caught"] and "'age'" in result["caught"]
