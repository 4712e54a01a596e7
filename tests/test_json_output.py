"""Every --json output is strict JSON: non-finite numbers become null, never `Infinity`/`NaN`."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from psyscore.cli.options import print_json


def _strict(text: str):
    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_print_as_null(capsys):
    print_json(
        {
            "signal_noise": float("inf"),
            "low": -math.inf,
            "alpha": float("nan"),
            "numpy": np.float64("inf"),
            "float32": np.float32("nan"),
            "nested": [{"rci": math.inf}, (1.5, math.nan)],
            "kept": 0.84,
            "count": np.int64(3),
            "flag": np.bool_(True),
        }
    )
    payload = _strict(capsys.readouterr().out)
    assert payload == {
        "signal_noise": None,
        "low": None,
        "alpha": None,
        "numpy": None,
        "float32": None,
        "nested": [{"rci": None}, [1.5, None]],
        "kept": 0.84,
        "count": 3,
        "flag": True,
    }


@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=4), kids),
        max_leaves=20,
    )
)
def test_any_payload_is_strict_json(payload):
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        print_json(payload)
    _strict(buffer.getvalue())
