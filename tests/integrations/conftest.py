"""Fixtures of the integration tests: one local Spark session for every test that asks for it."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator

import pytest


def require_spark(reason: str) -> None:
    """Skip for a missing Spark dependency, or fail where CI demands Spark (AEFEATURES_REQUIRE_SPARK=1)."""
    if os.environ.get("AEFEATURES_REQUIRE_SPARK") == "1":
        pytest.fail(f"{reason}, but AEFEATURES_REQUIRE_SPARK=1 (run scripts/system-deps.sh and make install)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """``local[2]`` with small Arrow batches; skips where pyspark or Java is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        require_spark("pyspark is not installed (pip install 'aefeatures[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        require_spark("Java 17 is not installed (scripts/system-deps.sh)")
    # Workers must run this interpreter, not the system python3 that lacks aefeatures.
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ["OMP_NUM_THREADS"] = "1"
    session = (
        SparkSession.builder.master("local[2]")
        .appName("aefeatures-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "256")  # several batches per task
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    yield session
    session.stop()
