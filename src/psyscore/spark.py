"""Score a Spark DataFrame with ``mapInPandas``, the coding checked on the whole data first.

::

    import psyscore, psyscore.spark
    score_batches, schema = psyscore.spark.batch_scorer(sdf, [psyscore.load("phq-9")])
    scored = sdf.mapInPandas(score_batches, schema)

`batch_scorer` runs one Spark job over the item columns (the shifted-coding check of
``score_table`` needs all rows: each Arrow batch reports what its columns span, the driver merges
them) and raises ``DataError`` as ``score_table`` does; then each batch is scored by the engine
as it is. psyscore does not depend on pyspark: this module only calls the DataFrame's methods.
Problem records are not collected here (score a sample in memory, or use ``psyscore.dask``).
"""

from __future__ import annotations

import base64
import pickle
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from ._partitions import Plan, check_codings, make_plan, observe_partition, score_part
from .errors import UsageError
from .instrument import Instrument

__all__ = ["batch_scorer", "spark_type"]


def spark_type(dtype) -> str:
    """The Spark SQL type (DDL) a score column of this pandas dtype is written as."""
    if isinstance(dtype, pd.CategoricalDtype):
        return "string"  # statuses and bands travel as their labels
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return {1: "tinyint", 2: "smallint", 4: "int"}.get(np.dtype(dtype).itemsize, "bigint")
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    return "string"


def _quoted(name: str) -> str:
    return "`" + str(name).replace("`", "``") + "`"


def _observations(plan: Plan) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def observe(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            # spans of one batch: a handful of numbers per column, pickled for the driver
            blob = base64.b64encode(pickle.dumps(observe_partition(batch, plan))).decode()
            yield pd.DataFrame({"observed": [blob]})

    return observe


def _scorer(plan: Plan, columns: list[str]):
    def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            out = score_part(batch, plan, True)
            for column in out.columns:
                if isinstance(out[column].dtype, pd.CategoricalDtype):
                    out[column] = out[column].astype(object).where(out[column].notna(), None)
            yield out[columns]

    return score_batches


def batch_scorer(
    sdf, instruments: Sequence[Instrument], *, exclude: str | None = None, **options
) -> tuple[Callable, str]:
    """(function for ``sdf.mapInPandas``, its output schema as DDL) after checking the codes.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        The responses.
    instruments : sequence of Instrument
        As for :func:`psyscore.score_table`.
    exclude : str, optional
        A column of `sdf` holding per row a reason not to score it (null: score it).
    **options
        Other keywords of :func:`psyscore.score_table` (mapping, recodes, value_labels, ...);
        `id_column` is not supported (repeated ids need all rows).

    Raises
    ------
    DataError
        When the codes of the whole data are shifted against a definition.
    """
    if options.get("id_column"):
        raise UsageError("id_column is not supported on Spark: find repeated ids with a groupBy")
    if exclude is not None and exclude not in sdf.columns:
        raise UsageError(f"exclude={exclude!r} is not a column of the data")
    empty = sdf.limit(0).toPandas()
    plan = make_plan(empty, instruments, dict(options), exclude, False)
    columns = plan.checked_columns
    if columns:
        rows = sdf.select(*columns).mapInPandas(_observations(plan), "observed string").collect()
        check_codings([pickle.loads(base64.b64decode(r["observed"])) for r in rows], plan)
    meta = score_part(empty, plan, True)
    input_types = {f.name: f.dataType.simpleString() for f in sdf.schema.fields}
    schema = ", ".join(
        f"{_quoted(c)} {input_types.get(c) or spark_type(meta[c].dtype)}" for c in meta.columns
    )
    return _scorer(plan, list(meta.columns)), schema
