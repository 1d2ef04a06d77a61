"""Pairs of neighbouring rows along a variable within groups (for monotonicity checks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["monotone_pairs", "group_codes", "roundoff"]


def monotone_pairs(wrt: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Index pairs ``(i, j)`` of consecutive rows along ``wrt`` within each group, ``wrt_i < wrt_j``.

    ``groups`` holds integer group codes (see :func:`group_codes`). Rows are sorted by
    group, then ``wrt``; equal ``wrt`` values in one group are not paired with each other,
    but each is paired with every row of the next larger value. Rows with a
    negative code (a missing group value) belong to no group, and rows with a NaN ``wrt``
    have no place in the order: neither is ever paired.

    Examples
    --------
    >>> monotone_pairs(np.array([2.0, 0.0, 1.0, 0.0]), np.array([0, 0, 0, 1]))
    array([[1, 2],
           [2, 0]])
    """
    wrt, groups = np.asarray(wrt, dtype=float), np.asarray(groups)
    if wrt.ndim != 1 or wrt.shape != groups.shape:
        raise ValueError(
            "monotone_pairs: wrt and groups must be 1-D arrays of the same length (one value "
            f"per row); got shapes {wrt.shape} and {groups.shape}."
        )
    rows = np.flatnonzero((groups >= 0) & ~np.isnan(wrt))
    order = rows[np.lexsort((wrt[rows], groups[rows]))]
    g, w = groups[order], wrt[order]
    new_level = np.r_[True, (g[1:] != g[:-1]) | (w[1:] != w[:-1])]
    starts = np.flatnonzero(new_level)
    ends = np.r_[starts[1:], len(order)]
    if np.all(ends - starts == 1):  # no ties: consecutive rows
        keep = (g[1:] == g[:-1]) & (w[1:] > w[:-1])
        return np.stack([order[:-1][keep], order[1:][keep]], axis=1)
    out = []
    for k in range(len(starts) - 1):  # every row of a level with every row of the next
        if g[starts[k]] == g[starts[k + 1]]:
            a, b = order[starts[k] : ends[k]], order[starts[k + 1] : ends[k + 1]]
            out.append(np.stack(np.meshgrid(a, b, indexing="ij"), axis=-1).reshape(-1, 2))
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=int)


def group_codes(columns: list[np.ndarray]) -> np.ndarray:
    """Integer codes of the distinct combinations of values in ``columns`` (one array per column).

    A row with a missing value (NaN, None, NaT) in any column gets -1: it belongs to no
    group, so it is never compared with or projected together with other rows.

    Examples
    --------
    >>> group_codes([np.array(["a", "b", "a"]), np.array([1, 1, 1])]).tolist()
    [0, 1, 0]
    >>> group_codes([np.array(["a", "b", "b"]), np.array([1.0, np.nan, np.nan])]).tolist()
    [0, -1, -1]
    """
    if len(columns) == 1:
        codes = pd.factorize(pd.Index(columns[0]))[0]
    else:
        codes = pd.factorize(pd.MultiIndex.from_arrays([pd.Index(c) for c in columns]))[0]
    missing = np.logical_or.reduce([np.asarray(pd.isna(c), dtype=bool) for c in columns])
    return np.where(missing, -1, codes)


def roundoff(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """The size below which two computed values count as equal: 16 ulp of the larger one.

    Repairs that invert a relation (temperature from density) reproduce a value only to
    floating-point precision; comparisons of such values use this slack.
    """
    size = np.abs(a) if b is None else np.maximum(np.abs(a), np.abs(b))
    return 16 * np.finfo(float).eps * size
