"""The examples run for real: the quickstart script, and the Dagster ETL pipeline and its schedules."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

import aefeatures as aef
from tests.helpers import REPO, run_script

pytestmark = pytest.mark.slow  # end-to-end script runs: scheduled first (tests/conftest.py)

EXAMPLES = REPO / "examples"
ROWS_PER_DAY = 300


def test_quickstart_writes_model_report_and_features(tmp_path: Path) -> None:
    result = run_script(
        "examples", "quickstart.py", "--dir", "qs", "--rows", 1200, "--epochs", 8, cwd=tmp_path, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ROC-AUC" in result.stdout and result.stdout.count("  customer ") == 5
    data = pl.read_parquet(tmp_path / "qs" / "customers.parquet")
    features = pl.read_parquet(tmp_path / "qs" / "customers_features.parquet")
    model = aef.load(tmp_path / "qs" / "model", device="cpu")
    assert features.columns == data.columns + model.output_names(per_feature_errors=True)
    assert features.select(data.columns).equals(data)
    assert (tmp_path / "qs" / "model" / "report.html").stat().st_size > 10_000


@pytest.fixture(scope="module")
def etl() -> ModuleType:
    pytest.importorskip(
        "dagster", reason="the ETL example needs the 'examples' extra: pip install 'aefeatures[examples]'"
    )
    spec = importlib.util.spec_from_file_location("etl_dagster", EXAMPLES / "etl_dagster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["etl_dagster"] = module  # Dagster resolves the config classes through the module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def etl_root(etl: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pipeline run end to end as a user runs it: 9 days, fit on the first week, score days 8-9."""
    root = tmp_path_factory.mktemp("etl") / "lake"
    result = run_script(
        "examples",
        "etl_dagster.py",
        *("--root", root, "--days", 9, "--rows", ROWS_PER_DAY, "--epochs", 5),
        cwd=root.parent,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "features:" in result.stdout
    return root


def test_etl_fits_on_the_week_and_scores_the_following_days(etl: ModuleType, etl_root: Path) -> None:
    lake = etl.Lake(root=str(etl_root))
    model = aef.load(lake.model_dir("2026-01-05"), device="cpu")
    assert model.metadata["fingerprint"]["rows"] == 7 * ROWS_PER_DAY  # Monday to Sunday, nothing after
    assert (lake.model_dir("2026-01-05") / "report.html").is_file()
    for day in ("2026-01-12", "2026-01-13"):
        source = pl.read_parquet(lake.day_file("warehouse", day))
        written = pl.read_parquet(lake.day_file("features", day))
        assert written.columns == source.columns + model.output_names()
        assert written.select(source.columns).equals(source)
        assert written.equals(model.transform(source))  # scored by that week's model, deterministically
    scored = sorted(p.name for p in (etl_root / "features" / "customers").iterdir())
    assert scored == ["date=2026-01-12", "date=2026-01-13"]  # the training week itself is never scored


def test_etl_schedules_fit_mondays_and_transform_yesterday(etl: ModuleType) -> None:
    import dagster as dg

    ticks = {
        "fit_weekly_schedule": (datetime(2026, 1, 19, 2, tzinfo=UTC), "2026-01-12"),
        "transform_daily_schedule": (datetime(2026, 1, 14, 4, tzinfo=UTC), "2026-01-13"),
    }
    for name, (when, partition) in ticks.items():
        schedule = etl.defs.resolve_schedule_def(name)
        requests = schedule.evaluate_tick(
            dg.build_schedule_context(scheduled_execution_time=when)
        ).run_requests
        assert [r.partition_key for r in requests] == [partition], name
    assert etl.defs.resolve_schedule_def("fit_weekly_schedule").cron_schedule == "0 2 * * 1"


def test_etl_day_after_a_week_without_a_model_fails_loudly(etl: ModuleType, etl_root: Path) -> None:
    import dagster as dg

    lake = etl.Lake(root=str(etl_root))
    etl.seed_warehouse(lake, datetime(2026, 1, 19).date(), 1, ROWS_PER_DAY)
    with pytest.raises(
        dg.Failure, match="no model for the week of 2026-01-12"
    ):  # Monday needs last week's model
        dg.materialize(
            [etl.customers_model, etl.customers_features],
            selection=[etl.customers_features],
            partition_key="2026-01-19",
            resources={"lake": lake},
        )
    assert not lake.day_file("features", "2026-01-19").exists()


def test_etl_day_with_a_broken_schema_fails_and_writes_nothing(etl: ModuleType, etl_root: Path) -> None:
    import dagster as dg

    lake = etl.Lake(root=str(etl_root))
    day = "2026-01-14"
    etl.seed_warehouse(lake, datetime(2026, 1, 14).date(), 1, ROWS_PER_DAY)
    broken = pl.read_parquet(lake.day_file("warehouse", day)).drop("age")
    broken.write_parquet(lake.day_file("warehouse", day))
    with pytest.raises(aef.SchemaValidationError, match="age"):
        dg.materialize(
            [etl.customers_model, etl.customers_features],
            selection=[etl.customers_features],
            partition_key=day,
            resources={"lake": lake},
        )
    assert not lake.day_file("features", day).exists()
