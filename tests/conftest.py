from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from psyscore.instrument import load_definition

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def toy():
    return load_definition(DATA / "toy.yaml")


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


# Property tests must not fail on a busy machine: no per-example deadline (their speed is measured
# in benchmarks/, never in tests).
from hypothesis import settings  # noqa: E402

settings.register_profile("psyscore", deadline=None)
settings.load_profile("psyscore")
