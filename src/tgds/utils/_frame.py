"""A uniform, read-only view of pandas DataFrames, polars DataFrames and dicts of arrays.

Column names bind data to theory variables, so every consumer needs the same few
operations: list columns, count rows, get one column as NumPy, tell numeric and
date/time columns apart. polars is never imported here; it is recognised by its module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tgds.exceptions import DataError

__all__ = ["FrameView", "as_frame"]


class FrameView:
    """Read-only access to the columns of a data frame.

    Parameters
    ----------
    data : pandas.DataFrame, polars.DataFrame or mapping of name -> 1-D array
    """

    def __init__(self, data: Any, what: str = "data"):
        self.what = what
        if isinstance(data, pd.DataFrame):
            self.kind = "pandas"
            self._columns = {str(c): data[c] for c in data.columns}
            if len(set(map(str, data.columns))) != data.shape[1]:
                raise DataError(f"{what} has duplicate column names: {list(data.columns)}.")
            self.n_rows = len(data)
        elif type(data).__module__.split(".")[0] == "polars" and hasattr(data, "get_columns"):
            self.kind = "polars"
            self._columns = {s.name: s for s in data.get_columns()}
            self.n_rows = data.height
        elif isinstance(data, Mapping):
            self.kind = "mapping"
            self._columns = {str(k): _column(k, v, what) for k, v in data.items()}
            if len(self._columns) != len(data):  # {1: ..., "1": ...}: one would be lost
                raise DataError(f"{what} has duplicate column names: {list(data)}.")
            lengths = {len(s) for s in self._columns.values()}
            if len(lengths) > 1:
                raise DataError(f"{what}: columns have different lengths {sorted(lengths)}.")
            self.n_rows = lengths.pop() if lengths else 0
        else:
            raise DataError(
                f"{what} must be a pandas or polars DataFrame (or a dict of arrays); got {type(data).__name__}."
            )

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def __contains__(self, name: str) -> bool:
        return name in self._columns

    def _series(self, name: str) -> Any:
        if name not in self._columns:
            raise DataError(
                f"{self.what} has no column {name!r}; its columns are {', '.join(self.columns)}."
            )
        return self._columns[name]

    def is_numeric(self, name: str) -> bool:
        s = self._series(name)
        if self.kind == "polars":
            return bool(s.dtype.is_numeric() or s.dtype == _polars_bool(s))
        return (
            pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype)
        ) or pd.api.types.is_bool_dtype(s.dtype)

    def is_temporal(self, name: str) -> bool:
        s = self._series(name)
        if self.kind == "polars":
            return bool(s.dtype.is_temporal())
        return pd.api.types.is_datetime64_any_dtype(s.dtype) or pd.api.types.is_timedelta64_dtype(
            s.dtype
        )

    def dtype(self, name: str) -> str:
        return str(self._series(name).dtype)

    def numeric(self, name: str) -> np.ndarray:
        """The column as float64; missing values become NaN. Raises if it is not numeric."""
        s = self._series(name)
        if not self.is_numeric(name):
            raise DataError(
                f"{self.what} column {name!r} must be numeric; its type is {self.dtype(name)}."
            )
        if self.kind == "polars":
            import polars as pl  # noqa: PLC0415 - present whenever a polars frame is

            return s.cast(pl.Float64).fill_null(float("nan")).to_numpy()
        return s.to_numpy(dtype=float, na_value=np.nan)

    def values(self, name: str) -> np.ndarray:
        """The column as a NumPy array of its own type (object for strings)."""
        s = self._series(name)
        return s.to_numpy()

    def null_count(self, name: str) -> int:
        """Missing values: NaN, None, NA and NaT in pandas; nulls, and NaN in float columns, in polars."""
        s = self._series(name)
        if self.kind == "polars":
            return int(s.null_count() + (s.is_nan().sum() if s.dtype.is_float() else 0))
        return int(s.isna().sum())


def _column(name: Any, values: Any, what: str) -> pd.Series:
    """One column of a mapping as a Series; a list is typed as pandas would (None in numbers is NaN)."""
    try:
        array = np.asarray(values)
    except ValueError as err:  # ragged nested lists
        raise DataError(
            f"{what} column {name!r} must be a 1-D array; got a ragged sequence ({err})"
        ) from None
    if array.ndim != 1:
        raise DataError(
            f"{what} column {name!r} must be a 1-D array; got an array of shape {array.shape}."
        )
    return pd.Series(list(values) if isinstance(values, list | tuple) else array)


def _polars_bool(series: Any) -> Any:
    import polars as pl  # noqa: PLC0415

    return pl.Boolean


def as_frame(data: Any, what: str = "data") -> FrameView:
    """A :class:`FrameView` of ``data`` (returned unchanged if it already is one)."""
    return data if isinstance(data, FrameView) else FrameView(data, what)
