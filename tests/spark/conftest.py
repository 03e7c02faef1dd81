"""One Spark session for the whole test run (local mode), and the demo data on every engine.

The session: ``local[2]``, UI off, 2 shuffle partitions, the warehouse in a temporary folder (a
rerun would otherwise fail with LOCATION_ALREADY_EXISTS), the session time zone set explicitly.
The demo data is loaded once into DuckDB (the only loader), exported to Parquet and read by
Spark as tables: the path docs/scale.md describes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import clvlab
from clvlab.datasets import path as dataset_path
from clvlab.pipeline import CDNOW_MAPPING

#: the tables the conformance suite reads on every engine
TABLES = ("transactions", "feedback")


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The test run's one SparkSession (about 30 s to start on 2 cores)."""
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]").appName("clvlab-tests")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2").config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def demo_duckdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A DuckDB workspace with the CDNOW master transactions and the demo feedback."""
    folder = tmp_path_factory.mktemp("demo")
    ws = clvlab.connect(folder / "demo.duckdb")
    ws.load("transactions", dataset_path("cdnow_master"), mapping=CDNOW_MAPPING, date_format="%Y%m%d",
            sep="whitespace")
    ws.load("feedback", dataset_path("demo_feedback"))
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def demo_parquet(demo_duckdb: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo tables exported from DuckDB to Parquet (how prepared tables reach Spark)."""
    folder = tmp_path_factory.mktemp("parquet")
    files = {}
    for name in TABLES:
        files[name] = folder / f"{name}.parquet"
        demo_duckdb.con.con.execute(f"COPY {name} TO '{files[name]}' (FORMAT parquet)")
    return files


@pytest.fixture(scope="session")
def spark_ws(spark: Any, demo_parquet: dict[str, Path]) -> Any:
    """A Spark workspace (``clvlab.connect(session)``) whose catalog holds the demo tables."""
    for name, file in demo_parquet.items():
        spark.read.parquet(str(file)).write.mode("overwrite").saveAsTable(name)
    return clvlab.connect(spark)
