"""The cooling-cup data and theory shared by the tests of `tgds run`, `runs` and `predict`:
Newton's law of cooling, six cups of ten readings (60 rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd

THEORY = """
name = "cooling"

[variables.t]
unit = "s"
role = "time"

[variables.T_room]
unit = "degC"

[variables.T0]
unit = "degC"

[variables.T]
unit = "degC"
role = "target"

[parameters.k]
unit = "1/s"
value = 0.1

[[constraints]]
kind = "monotonic"
quantity = "T"
wrt = "t"
direction = "decreasing"
name = "cooling"

[physics_model]
outputs = { T = "T_room + (T0 - T_room)*exp(-k*t)" }
"""


def _cups() -> pd.DataFrame:
    """60 rows: six cups, t = 0, 3, ..., 27 s; T_room in [18, 24], T0 in [60, 90]."""
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(6):
        start, room = rng.uniform(60, 90), rng.uniform(18, 24)
        for t in range(0, 30, 3):
            temp = room + (start - room) * np.exp(-0.1 * t) + rng.normal(0, 0.3)
            rows.append({"t": float(t), "T_room": room, "T0": start, "T": temp})
    return pd.DataFrame(rows)
