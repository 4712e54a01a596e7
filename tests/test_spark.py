"""psyscore.spark with mapInPandas gives the in-memory scores (only where Spark can run here)."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

import psyscore
from psyscore.errors import DataError

if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime: `which java` finds none", allow_module_level=True)
pyspark = pytest.importorskip(
    "pyspark", reason="pyspark is not installed (it is no dependency of psyscore)"
)

import psyscore.spark  # noqa: E402

PHQ = psyscore.load("phq-9")
K10 = psyscore.load("k10")


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # the workers run this interpreter, which has psyscore (not whatever `python3` is on PATH)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("psyscore-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.pyspark.python", sys.executable)
        .getOrCreate()
    )
    yield session
    session.stop()


def answers(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    data = {"rid": [f"r{i}" for i in range(n)]}
    for i in range(1, 10):
        col = rng.integers(0, 4, n).astype(float)
        col[rng.random(n) < 0.05] = np.nan
        data[f"phq9_{i}"] = col
    data["phq9_2"][[4, 70]] = 7  # invalid answers
    return pd.DataFrame(data)


def scored_by_spark(spark, frame, instruments, **options) -> pd.DataFrame:
    sdf = spark.createDataFrame(frame).repartition(3)
    score_batches, schema = psyscore.spark.batch_scorer(sdf, instruments, **options)
    out = sdf.mapInPandas(score_batches, schema).toPandas()
    return out.set_index("rid").loc[frame["rid"]]


def test_mapinpandas_scores_equal_the_in_memory_ones(spark):
    frame = answers()
    got = scored_by_spark(spark, frame, [PHQ])
    want = psyscore.score_table(frame, [PHQ]).table.set_index("rid")
    for column in ["phq9_total", "phq9_total_n", "phq9_critical"]:
        np.testing.assert_array_equal(got[column].to_numpy(float), want[column].to_numpy(float))
    for column in ["phq9_total_status", "phq9_total_band", "phq9_critical_items"]:
        assert labels(got[column]) == labels(want[column]), column


def labels(values: pd.Series) -> list:
    return [None if pd.isna(v) else str(v) for v in values]


def test_a_shifted_coding_in_the_whole_data_is_refused(spark):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({f"k10_{i}": rng.integers(1, 5, 200).astype(float) for i in range(1, 11)})
    frame.loc[[10, 60, 110, 160], "k10_1"] = 0  # 0-4 data: the US coding, seen in all rows
    sdf = spark.createDataFrame(frame).repartition(4)
    with pytest.raises(DataError, match="k10-us"):
        psyscore.spark.batch_scorer(sdf, [K10])
