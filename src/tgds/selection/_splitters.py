"""Cross-validation splitters that respect time, space, physical regimes and extrapolation.

Random K-fold cross-validation overstates skill when rows are not independent: the
depth profile of one date shares that day's weather, neighbouring sites share their
surroundings, and a model meant for another regime (or beyond its training range) is
never tested there. Each splitter here is a scikit-learn cross-validator
(``split(X, y=None, groups=None)`` and ``get_n_splits``) that reads named columns of a
pandas or polars DataFrame, so it works with ``cross_validate`` and ``GridSearchCV``.
Indices are always positions in the original ``X``, sorted.

Columns that decide the folds can be given as expressions in the theory language
(parsed by the whitelist parser of :class:`~tgds.theory.Expression`, never ``eval``),
or as the name of a relation of a :class:`~tgds.theory.Theory`.
"""

from __future__ import annotations

import math
import numbers
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state
from sklearn.utils.validation import _num_samples

from tgds._validation import (
    Instance,
    Int,
    InvalidParameterError,
    OneOf,
    Optional,
    Real,
    Rule,
    any_of,
    validate_params,
)
from tgds.exceptions import DataError, TheoryError
from tgds.theory import Expression, Theory
from tgds.utils import FrameView, as_frame

__all__ = ["BlockedTimeSplit", "ExtrapolationSplit", "RegimeSplit", "SpatialBlockSplit"]

_NS_PER_DAY = 86_400 * 10**9


# -- parameter rules ----------------------------------------------------------------------
def _is_real(v: Any) -> bool:
    return _is_number(v) and v == v


def _is_number(v: Any) -> bool:
    # numpy registers timedelta64 as an integer type: a duration is no count or float.
    return isinstance(v, numbers.Real) and not isinstance(v, bool | np.timedelta64)


def _number(rule: Rule) -> Rule:
    """``rule`` for numbers only: no bool, no numpy ``timedelta64``."""
    return Rule(lambda v: _is_number(v) and rule.test(v), rule.words)


def _is_timedelta(v: Any) -> bool:
    if not isinstance(v, timedelta | np.timedelta64):
        return False
    try:
        delta = pd.Timedelta(v)
    except ValueError:  # numpy's months and years have no fixed length
        return False
    return delta is not pd.NaT and delta >= pd.Timedelta(0)


def _per_axis(test: Callable[[Any], bool], words: str) -> Rule:
    """A value, or a list/tuple of values (one per coordinate), each passing ``test``."""

    def check(v: Any) -> bool:
        if isinstance(v, list | tuple):
            return len(v) >= 1 and all(test(x) for x in v)
        return test(v)

    return Rule(check, words)


_TIMEDELTA = Rule(_is_timedelta, "a timedelta >= 0")
_COLUMN = Instance(str, words="a column name")
_COLUMN_OR_EXPRESSION = Instance(str, Expression, words="a column name or an expression string")
_THEORY = Optional(Instance(Theory))
_COORDS = Rule(
    lambda v: (
        isinstance(v, list | tuple)
        and len(v) >= 1
        and all(isinstance(c, str) for c in v)
        and len(set(v)) == len(v)
    ),
    "a tuple of distinct column names, e.g. ('x', 'y')",
)
_BLOCK_SIZE = _per_axis(
    lambda x: _is_real(x) and 0 < x < math.inf, "a float > 0 or a tuple of them, one per coordinate"
)
_N_BLOCKS = _per_axis(Int(1).test, "an int >= 1 or a tuple of them, one per coordinate")
_RANDOM_STATE = any_of(Optional(Int(0)), Instance(np.random.RandomState))
_FRACTION = Optional(Rule(lambda v: _is_real(v) and 0 < v < 1, "a float > 0 and < 1"))
_EDGES = Rule(
    lambda v: (
        isinstance(v, list | tuple | np.ndarray)
        and len(v) >= 1
        and all(_is_real(e) for e in v)
        and bool(np.all(np.diff(np.asarray(v, dtype=float)) > 0))
    ),
    "a sequence of increasing bin edges",
)


# -- shared helpers -----------------------------------------------------------------------
class _FrameSplitter(BaseCrossValidator):
    """Validation, fold building and ``split`` shared by the splitters of this module."""

    _parameter_rules: dict[str, Rule] = {}

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Generate the indices of the training and test rows of each fold.

        Parameters
        ----------
        X : pandas.DataFrame or polars.DataFrame
            The data; the columns the splitter names must be present.
        y, groups : ignored
            Present for compatibility with scikit-learn.

        Yields
        ------
        train, test : ndarray of int
            Sorted positions of the rows in ``X``.
        """
        yield from self._folds(X)

    def _validate(self) -> None:
        validate_params(self, self._parameter_rules)

    @abstractmethod
    def _folds(self, X: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (train, test) position arrays of every fold."""

    def _label(self) -> str:
        return type(self).__name__


def _frame(X: Any, owner: str) -> FrameView:
    if X is None:
        raise DataError(f"{owner} needs X, a pandas or polars DataFrame with named columns.")
    try:
        return as_frame(X, what="X")
    except DataError as err:
        frame_like = isinstance(X, pd.DataFrame | Mapping) or hasattr(X, "get_columns")
        hint = "" if frame_like else " Pass the data frame itself, not its values (X.to_numpy())."
        raise DataError(f"{owner}: {err}{hint}") from None


def _numeric(frame: FrameView, name: str, owner: str) -> np.ndarray:
    """Column ``name`` as float64, or a DataError naming ``owner``."""
    try:
        return frame.numeric(name)
    except DataError as err:
        raise DataError(f"{owner}: {err}") from None


def _require(frame: FrameView, name: str, owner: str) -> None:
    if name not in frame:
        raise DataError(
            f"{owner}: X has no column {name!r}; its columns are {', '.join(frame.columns)}."
        )


def _check_missing(values: np.ndarray, what: str, owner: str) -> None:
    missing = int(pd.isna(values).sum())
    if missing:
        raise DataError(
            f"{owner}: {what} has {missing} missing value{'s' if missing > 1 else ''} (NaN) "
            f"in {len(values)} rows; drop or fill those rows before splitting."
        )


def _evaluate(
    frame: FrameView, spec: str | Expression, theory: Theory | None, owner: str
) -> np.ndarray:
    """The float values of the expression (or theory relation) ``spec`` on the rows of ``frame``."""
    relations = {r.name for r in theory.relations} if theory is not None else set()
    if isinstance(spec, str) and spec.strip() in relations:
        compiled = theory.expression_of(spec.strip())
        names = {s.name for s in compiled.sympy.free_symbols}
        text = f"relation {spec.strip()!r}"
    else:
        compiled = _parse(spec, frame, owner)
        if compiled.derivatives:
            raise TheoryError(
                f"{owner}: the expression {compiled.text!r} contains D(...); "
                "a splitter evaluates expressions of columns only."
            )
        names = set(compiled.names)
        text = f"expression {compiled.text!r}"
        if compiled.text in names:  # a bare name: the user meant a column
            _require(frame, compiled.text, owner)
    parameters = theory.parameter_values() if theory is not None else {}
    missing = sorted(n for n in names if n not in frame and n not in parameters)
    if missing:
        unset = {p.name for p in theory.parameters} if theory is not None else set()
        shown = ", ".join(
            f"{n!r}" + (" (a theory parameter without a value)" if n in unset else "")
            for n in missing
        )
        raise DataError(
            f"{owner}: the {text} uses {shown}, which X does not have; "
            f"its columns are {', '.join(frame.columns)}."
        )
    values = {n: _numeric(frame, n, owner) if n in frame else parameters[n] for n in names}
    with np.errstate(all="ignore"):  # NaN is reported by the caller, with a count
        out = np.asarray(compiled.evaluate(values), dtype=float)
    return np.broadcast_to(out, (frame.n_rows,)).copy()


def _parse(spec: str | Expression, frame: FrameView, owner: str) -> Expression:
    if isinstance(spec, Expression):
        return spec
    try:
        return Expression(spec)
    except TheoryError as err:
        raise TheoryError(
            f"{owner}: {spec!r} is not a column of X ({', '.join(frame.columns)}), and reading "
            f"it as an expression failed: {err}"
        ) from None


def _numeric_values(
    frame: FrameView, spec: str | Expression, theory: Theory | None, owner: str
) -> np.ndarray:
    """A column (by name) or an expression, as float64 without missing values."""
    if isinstance(spec, str) and spec in frame:
        values, what = _numeric(frame, spec, owner), f"column {spec!r}"
    else:
        values, what = _evaluate(frame, spec, theory, owner), f"{str(spec).strip()!r}"
    _check_missing(values, what, owner)
    return values


def _distinct_cuts(starts: np.ndarray, targets: Sequence[float]) -> list[int]:
    """Where to cut sorted rows near each target row count without splitting equal values.

    ``starts[j]`` is the first sorted row holding the ``j``-th distinct value, so a cut
    before ``starts[j]`` (``1 <= j < len(starts)``) separates only different values. Each
    target is moved to the nearest such cut; the cuts are then made strictly increasing,
    which is always possible when ``len(starts) > len(targets)``.
    """
    candidates = starts[1:]
    cuts = [int(np.abs(candidates - t).argmin()) + 1 for t in targets]
    for k in range(1, len(cuts)):
        cuts[k] = max(cuts[k], cuts[k - 1] + 1)
    limit = len(starts)
    for k in reversed(range(len(cuts))):
        cuts[k] = min(cuts[k], limit - 1)
        limit = cuts[k]
    return cuts


def _sorted_positions(positions: np.ndarray) -> np.ndarray:
    return np.sort(positions).astype(np.intp)


# -- BlockedTimeSplit -------------------------------------------------------------------------
class BlockedTimeSplit(_FrameSplitter):
    """Forward-chaining cross-validation in blocks of time, never splitting one time value.

    The rows, in time order, are cut into ``n_splits + 1`` consecutive blocks (the first
    for training only). Fold ``k`` tests on block ``k`` and trains on every row before it,
    except those within ``gap`` of the test block's first time. Cuts fall only between
    distinct time values, so all rows of one date (e.g. every depth of a lake profile)
    are on the same side; block sizes are therefore approximate.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, >= 1.
    gap : int, float or timedelta, default=0
        Left out between training and test. Without ``time``, a number of rows (as in
        scikit-learn's ``TimeSeriesSplit``). With ``time``, in the units of that column:
        a training row's time ``t`` must satisfy ``t < start - gap``, where ``start`` is
        the test block's first time, so the test block begins more than ``gap`` after
        training ends. For a datetime column a number is read as days; a
        ``datetime.timedelta``, ``numpy.timedelta64`` or ``pandas.Timedelta`` is taken as is.
    time : str, optional
        The column to sort by: numeric, datetime, date, or ISO 8601 date strings. Without
        it the rows must already be in time order and each row is its own time.
    test_size : int, optional
        Rows per test block (approximate, see above). By default
        ``n_rows // (n_splits + 1)``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({
    ...     "date": ["2020-06-03", "2020-06-01", "2020-06-01", "2020-06-02", "2020-06-02",
    ...              "2020-06-04", "2020-06-04", "2020-06-03"],
    ...     "depth": [0.0, 0.0, 5.0, 0.0, 5.0, 0.0, 5.0, 5.0],
    ... })
    >>> cv = BlockedTimeSplit(n_splits=3, time="date")
    >>> for train, test in cv.split(X):
    ...     print(train, test)
    [1 2] [3 4]
    [1 2 3 4] [0 7]
    [0 1 2 3 4 7] [5 6]
    >>> for train, test in BlockedTimeSplit(n_splits=2, time="date", gap=1).split(X):
    ...     print(train, test)
    [1 2] [0 7]
    [1 2 3 4] [5 6]
    """

    _parameter_rules = {
        "n_splits": Int(1),
        "time": Optional(_COLUMN),
        "test_size": Optional(Int(1)),
    }

    def __init__(
        self,
        n_splits: int = 5,
        *,
        gap: int | float | timedelta = 0,
        time: str | None = None,
        test_size: int | None = None,
    ):
        self.n_splits = n_splits
        self.gap = gap
        self.time = time
        self.test_size = test_size

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """The number of folds, ``n_splits``."""
        self._validate()
        return self.n_splits

    def _validate(self) -> None:
        validate_params(self, self._parameter_rules)
        gap_rule = _number(Int(0)) if self.time is None else any_of(_number(Real(0)), _TIMEDELTA)
        validate_params(self, {"gap": gap_rule})

    def _folds(self, X: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        self._validate()
        key, gap = self._time_key(X)
        n = len(key)
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        distinct, starts = np.unique(ordered, return_index=True)
        what = "rows" if self.time is None else f"distinct values in column {self.time!r}"
        if len(distinct) < self.n_splits + 1:
            raise DataError(
                f"{self._label()} with n_splits={self.n_splits} needs at least "
                f"{self.n_splits + 1} {what} (one block to train on and one per fold); "
                f"X has {len(distinct)}. Lower n_splits."
            )
        test_size = self.test_size or n // (self.n_splits + 1)
        if test_size * self.n_splits >= n:
            raise DataError(
                f"{self._label()}: test_size={test_size} times n_splits={self.n_splits} is "
                f"not less than the {n} rows of X, which leaves nothing to train on."
            )
        targets = [n - test_size * (self.n_splits - k) for k in range(self.n_splits)]
        cuts = _distinct_cuts(starts, targets)
        ends = [int(starts[j]) for j in cuts[1:]] + [n]
        folds = []
        for k, (j, end) in enumerate(zip(cuts, ends, strict=True)):
            # In Python numbers: int64 nanoseconds minus a long gap would wrap around, and
            # inf - inf is NaN, which searchsorted puts after every row.
            limit = distinct[j].item() - gap
            train_end = (
                int(np.searchsorted(ordered, limit, side="left"))
                if limit > ordered[0].item()
                else 0
            )
            if train_end == 0:
                raise DataError(
                    f"{self._label()}: fold {k} has no training rows, because every row "
                    f"before its test block lies within gap={self.gap!r} of it. "
                    "Lower gap, n_splits or test_size."
                )
            folds.append(
                (_sorted_positions(order[:train_end]), _sorted_positions(order[starts[j] : end]))
            )
        return folds

    def _time_key(self, X: Any) -> tuple[np.ndarray, Any]:
        """Sortable time values (float, or int64 nanoseconds) and the gap in the same units."""
        owner = self._label()
        if self.time is None:
            return np.arange(_num_samples(X)), self.gap
        frame = _frame(X, owner)
        _require(frame, self.time, owner)
        if frame.is_numeric(self.time):
            if not _is_real(self.gap):
                raise InvalidParameterError(
                    f"The 'gap' parameter of {owner} must be a float >= 0 in the units of the "
                    f"numeric column {self.time!r}. Got {self.gap!r} instead."
                )
            values = frame.numeric(self.time)
            _check_missing(values, f"column {self.time!r}", owner)
            return values, self.gap
        values = _nanoseconds(frame, self.time, owner)
        if _is_timedelta(self.gap):
            return values, int(pd.Timedelta(self.gap).as_unit("ns").value)
        gap = self.gap * _NS_PER_DAY
        return values, int(round(gap)) if math.isfinite(gap) else gap


def _nanoseconds(frame: FrameView, name: str, owner: str) -> np.ndarray:
    """A temporal or ISO 8601 string column as int64 nanoseconds (UTC for aware datetimes)."""
    raw = frame.values(name)
    if np.issubdtype(raw.dtype, np.timedelta64):
        index = pd.TimedeltaIndex(raw)
    else:
        options = {} if frame.is_temporal(name) else {"format": "ISO8601"}
        try:
            index = pd.DatetimeIndex(pd.to_datetime(raw, utc=True, **options))
        except (ValueError, TypeError) as err:
            raise DataError(
                f"{owner}: column {name!r} must be numeric, datetime, or ISO 8601 date strings "
                f"such as '2020-06-01'; its type is {frame.dtype(name)} and it could not be "
                f"read as dates ({err})."
            ) from None
    _check_missing(index.to_numpy(), f"column {name!r}", owner)
    try:
        return index.as_unit("ns").asi8.copy()
    except (pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta):
        raise DataError(
            f"{owner}: column {name!r} holds times from {index.min()} to {index.max()}, "
            "beyond what nanosecond times can hold (the years 1677 to 2262, or durations "
            "of 292 years); give the time as numbers instead (e.g. decimal years)."
        ) from None


# -- SpatialBlockSplit ------------------------------------------------------------------------
def _block_index(offset: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The block of each offset from the lowest point: ``floor(offset / size)``, where an
    offset within 1e-9 of a block's width of an edge lies on the edge. Decimal grids
    are not exact in binary: 0.3 / 0.1 is 2.9999999999999996, which would put the
    points at 0.3 into the block below and leave theirs empty."""
    return np.floor(np.round(offset / size, 9))


class SpatialBlockSplit(_FrameSplitter):
    """Cross-validation by rectangular blocks of space, with an optional buffer zone.

    The bounding box of the coordinates is cut into a grid of rectangular blocks; the
    blocks that hold rows are shuffled and dealt to the folds, each next block going to
    the fold with the fewest rows so far. Fold ``k`` tests on the rows in its blocks and
    trains on the other rows, leaving out those within ``buffer`` of a test block.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, >= 2. There must be at least as many non-empty blocks.
    coords : tuple of str, default=("x", "y")
        The coordinate columns (one or more, numeric).
    block_size : float or tuple of float, optional
        Side of a block along each coordinate, in coordinate units; blocks start at the
        smallest coordinate. Give this or ``n_blocks``, not both.
    n_blocks : int or tuple of int, optional
        Blocks along each coordinate, of equal width over its range. When neither
        ``block_size`` nor ``n_blocks`` is given, each axis gets
        ``ceil((3 * n_splits) ** (1 / len(coords)))`` blocks, about three per fold.
    buffer : float, default=0.0
        Training rows must lie at a Euclidean distance of at least ``buffer``
        (coordinate units) from every test block, measured to the block's rectangle, not
        only to its rows; rows nearer than that are in neither set. ``0`` keeps all rows.
    random_state : int, RandomState or None, default=None
        Shuffles the blocks before they are dealt; pass an int for reproducible folds.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> X = pd.DataFrame({"x": np.arange(8.0), "y": 0.0})
    >>> for train, test in SpatialBlockSplit(n_splits=2, block_size=2.0, random_state=0).split(X):
    ...     print(train, test)
    [0 1 6 7] [2 3 4 5]
    [2 3 4 5] [0 1 6 7]

    With a buffer, training rows nearer than 1 to a test block (whose rectangle here is
    ``2 <= x <= 6`` in the first fold) are left out:

    >>> cv = SpatialBlockSplit(n_splits=2, block_size=2.0, buffer=1.0, random_state=0)
    >>> for train, test in cv.split(X):
    ...     print(train, test)
    [0 1 7] [2 3 4 5]
    [3 4 5] [0 1 6 7]
    """

    _parameter_rules = {
        "n_splits": Int(2),
        "coords": _COORDS,
        "block_size": Optional(_BLOCK_SIZE),
        "n_blocks": Optional(_N_BLOCKS),
        "buffer": _number(Real(0)),
        "random_state": _RANDOM_STATE,
    }

    def __init__(
        self,
        n_splits: int = 5,
        *,
        coords: Sequence[str] = ("x", "y"),
        block_size: float | Sequence[float] | None = None,
        n_blocks: int | Sequence[int] | None = None,
        buffer: float = 0.0,
        random_state: int | np.random.RandomState | None = None,
    ):
        self.n_splits = n_splits
        self.coords = coords
        self.block_size = block_size
        self.n_blocks = n_blocks
        self.buffer = buffer
        self.random_state = random_state

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """The number of folds, ``n_splits``."""
        self._validate()
        return self.n_splits

    def _validate(self) -> None:
        validate_params(self, self._parameter_rules)
        if self.block_size is not None and self.n_blocks is not None:
            raise InvalidParameterError(
                f"{self._label()} takes block_size or n_blocks, not both. "
                f"Got block_size={self.block_size!r} and n_blocks={self.n_blocks!r}."
            )
        for name in ("block_size", "n_blocks"):
            value = getattr(self, name)
            if isinstance(value, list | tuple) and len(value) != len(self.coords):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {self._label()} must have one entry per "
                    f"coordinate ({len(self.coords)}, for {tuple(self.coords)}). "
                    f"Got {value!r} instead."
                )

    def _folds(self, X: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        self._validate()
        owner = self._label()
        frame = _frame(X, owner)
        for name in self.coords:
            _require(frame, name, owner)
        points = np.column_stack([_numeric(frame, c, owner) for c in self.coords])
        _check_missing(points.ravel(), f"the coordinates {tuple(self.coords)}", owner)
        infinite = int(np.isinf(points).sum())
        if infinite:
            raise DataError(
                f"{owner}: the coordinates {tuple(self.coords)} hold {infinite} infinite "
                f"value{'s' if infinite > 1 else ''}; blocks need finite coordinates."
            )
        if not len(points):
            raise DataError(
                f"{owner} with n_splits={self.n_splits} needs rows in at least "
                f"{self.n_splits} blocks; X has 0 rows."
            )
        cell_lo, size = self._cells(points)
        blocks, block_of_row = np.unique(cell_lo, axis=0, return_inverse=True)
        block_of_row = block_of_row.ravel()
        if len(blocks) < self.n_splits:
            raise DataError(
                f"{owner}: the rows of X fall into {len(blocks)} non-empty blocks, fewer than "
                f"n_splits={self.n_splits}. Use smaller blocks (block_size) or more of them "
                "(n_blocks), or lower n_splits."
            )
        fold_of_block = self._deal(np.bincount(block_of_row))
        folds = []
        for k in range(self.n_splits):
            test_blocks = np.flatnonzero(fold_of_block == k)
            test = np.isin(block_of_row, test_blocks)
            train = ~test
            if self.buffer > 0:
                near = _distance_to_blocks(points, blocks[test_blocks], size) < self.buffer
                train &= ~near
            if not train.any():
                raise DataError(
                    f"{owner}: fold {k} has no training rows left outside buffer={self.buffer!r} "
                    "of its test blocks. Lower buffer or use smaller blocks."
                )
            folds.append((np.flatnonzero(train), np.flatnonzero(test)))
        return folds

    def _cells(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The lower corner of each row's block, and the block size along each axis."""
        d = points.shape[1]
        low, high = points.min(axis=0), points.max(axis=0)
        if self.block_size is not None:
            size = np.broadcast_to(np.asarray(self.block_size, dtype=float), (d,))
            index = _block_index(points - low, size)
        else:
            default = math.ceil((3 * self.n_splits) ** (1 / d))
            counts = np.broadcast_to(np.asarray(self.n_blocks or default), (d,))
            span = high - low
            # An axis with one value is one block; any positive width will do.
            size = np.where(span > 0, span / counts, 1.0)
            index = np.minimum(_block_index(points - low, size), counts - 1)
        return low + index * size, size

    def _deal(self, rows_per_block: np.ndarray) -> np.ndarray:
        """Fold of each block: shuffled, then each to the fold with the fewest rows so far."""
        rng = check_random_state(self.random_state)
        fold_of_block = np.empty(len(rows_per_block), dtype=int)
        rows_per_fold = np.zeros(self.n_splits, dtype=int)
        for block in rng.permutation(len(rows_per_block)):
            fold = int(rows_per_fold.argmin())
            fold_of_block[block] = fold
            rows_per_fold[fold] += rows_per_block[block]
        return fold_of_block


def _distance_to_blocks(points: np.ndarray, lows: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Euclidean distance from each point to the nearest of the boxes ``[low, low + size]``."""
    nearest = np.full(len(points), np.inf)
    for low in lows:
        outside = np.maximum(np.maximum(low - points, points - (low + size)), 0.0)
        nearest = np.minimum(nearest, np.sqrt((outside**2).sum(axis=1)))
    return nearest


# -- RegimeSplit --------------------------------------------------------------------------
class RegimeSplit(_FrameSplitter):
    """Leave-one-regime-out cross-validation: train on some physical regimes, test on another.

    The regime of each row is read from a column (labels of any type), or computed from an
    expression of numeric columns, e.g. ``"where(AirTemp < 0, 1, 0)"`` (ice-covered or
    not), or from a relation of a theory. ``bins`` cuts a continuous value into regimes.
    Each fold tests one regime (or, with ``n_splits``, one group of regimes) and trains on
    all the others.

    Parameters
    ----------
    by : str or Expression
        A column name, a relation name of ``theory``, or an expression of the columns
        (parsed by the whitelist parser of :class:`~tgds.theory.Expression`). A column
        of that name wins over an expression of the same text.
    n_splits : int, optional
        Group the regimes into this many folds (each regime whole, balanced by rows,
        largest regimes first). By default one fold per regime, in sorted order.
    bins : int or sequence of float, optional
        Cut the numeric values into regimes: an int gives that many quantile bins (ties
        may merge some; infinite values fall in the outer bins), a sequence gives the bin
        edges; a bin includes its lower edge, and values beyond the outer edges form
        their own bins.
    theory : Theory, optional
        Lets ``by`` name a relation of the theory, and supplies its parameter values to
        expressions.

    Raises
    ------
    DataError
        From ``split`` and ``get_n_splits(X)``, when ``by`` without ``bins`` gives more than
        ``MAX_REGIMES`` (20) regimes *and* more regimes than half the rows (fewer than two
        rows a regime on average), with or without ``n_splits``: ``by`` is then a
        continuous value or a row identifier, not a regime label, and the split would test
        one row at a time (400 folds for 400 rows) or deal single rows into ``n_splits``
        folds. Give ``bins`` to cut a continuous value into regimes. A label column with up
        to 20 regimes is never refused, however few its rows.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"AirTemp": [-5.0, -1.0, 2.0, 8.0, 15.0, 21.0]})
    >>> cv = RegimeSplit("where(AirTemp < 0, 1, 0)")
    >>> cv.regimes(X)
    array([1., 1., 0., 0., 0., 0.])
    >>> for train, test in cv.split(X):
    ...     print(train, test)
    [0 1] [2 3 4 5]
    [2 3 4 5] [0 1]
    >>> RegimeSplit("AirTemp", bins=[0, 10]).regimes(X)
    array(['(-inf, 0)', '(-inf, 0)', '[0, 10)', '[0, 10)', '[10, inf)', '[10, inf)'],
          dtype=object)
    """

    #: Without ``bins``, more regimes than this and than half the rows are refused.
    MAX_REGIMES = 20

    _parameter_rules = {
        "by": _COLUMN_OR_EXPRESSION,
        "n_splits": Optional(Int(2)),
        "bins": Optional(any_of(Int(2), _EDGES)),
        "theory": _THEORY,
    }

    def __init__(
        self,
        by: str | Expression,
        *,
        n_splits: int | None = None,
        bins: int | Sequence[float] | None = None,
        theory: Theory | None = None,
    ):
        self.by = by
        self.n_splits = n_splits
        self.bins = bins
        self.theory = theory

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """The number of folds: ``n_splits``, or the number of regimes in ``X``."""
        self._validate()
        if self.n_splits is not None:
            return self.n_splits
        if X is None:
            raise DataError(
                f"{self._label()} with n_splits=None makes one fold per regime, so "
                "get_n_splits needs X to count them: call get_n_splits(X)."
            )
        return len(self._regime_codes(X)[1])

    def regimes(self, X: Any) -> np.ndarray:
        """The regime of each row of ``X``: its label, value, or bin (as text).

        Parameters
        ----------
        X : pandas.DataFrame or polars.DataFrame

        Returns
        -------
        ndarray of shape (n_rows,)
        """
        self._validate()
        codes, labels = self._codes(X)
        return labels[codes]

    def _folds(self, X: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        self._validate()
        codes, labels = self._regime_codes(X)
        n_folds = self.n_splits or len(labels)
        if len(labels) < max(n_folds, 2):
            raise DataError(
                f"{self._label()}: X has {len(labels)} regime{'s' if len(labels) != 1 else ''} "
                f"by {str(self.by)!r} ({', '.join(map(str, labels[:10]))}); "
                f"{max(n_folds, 2)} are needed for n_splits={self.n_splits}."
            )
        fold_of_regime = self._group(np.bincount(codes, minlength=len(labels)), n_folds)
        folds = []
        for k in range(n_folds):
            test = np.isin(codes, np.flatnonzero(fold_of_regime == k))
            folds.append((np.flatnonzero(~test), np.flatnonzero(test)))
        return folds

    @staticmethod
    def _group(rows_per_regime: np.ndarray, n_folds: int) -> np.ndarray:
        if n_folds == len(rows_per_regime):
            return np.arange(n_folds)
        fold_of_regime = np.empty(len(rows_per_regime), dtype=int)
        rows_per_fold = np.zeros(n_folds, dtype=int)
        for regime in np.argsort(-rows_per_regime, kind="stable"):
            fold = int(rows_per_fold.argmin())
            fold_of_regime[regime] = fold
            rows_per_fold[fold] += rows_per_regime[regime]
        return fold_of_regime

    def _regime_codes(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_codes`, refusing (without ``bins``) a ``by`` that holds nearly one value a
        row: a continuous value or an identifier, which would make a fold of each row."""
        codes, labels = self._codes(X)
        n_rows, n_regimes = len(codes), len(labels)
        limit = max(self.MAX_REGIMES, n_rows // 2)
        if self.bins is None and n_regimes > limit:
            single = int(np.sum(np.bincount(codes, minlength=n_regimes) == 1))
            what = (
                "every regime would hold a single row"
                if single == n_regimes
                else f"{single} regime{'s' if single > 1 else ''} would hold a single row"
            )
            raise DataError(
                f"{self._label()}: {str(self.by)!r} has {n_regimes} distinct values in "
                f"{n_rows} rows ({what}); expected regime labels shared by several rows, "
                f"at most {limit} (the larger of {self.MAX_REGIMES} and half the rows). A "
                "continuous value makes a regime of every value; give bins (bins=4 for four "
                "quantile bins, or a list of bin edges) to cut it into regimes."
            )
        return codes, labels

    def _codes(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """An integer code for the regime of each row, and the sorted regime labels."""
        owner = self._label()
        frame = _frame(X, owner)
        if isinstance(self.by, str) and self.by in frame:
            column = self.by
            numeric = frame.is_numeric(column)
            values = frame.values(column)  # labels keep their type: 3 stays 3, not 3.0
            _check_missing(
                frame.numeric(column) if numeric else values, f"column {column!r}", owner
            )
        else:
            values = _numeric_values(frame, self.by, self.theory, owner)
        if self.bins is not None:
            return self._binned(values)
        try:
            codes, labels = pd.factorize(values, sort=True)
        except TypeError:  # labels of mixed types cannot be sorted
            codes, labels = pd.factorize(values, sort=False)
        return np.asarray(codes), np.asarray(labels)

    def _binned(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if values.dtype.kind not in "fiub":
            raise DataError(
                f"{self._label()}: bins need numeric values, but {str(self.by)!r} holds "
                f"{values.dtype} values such as {values[0]!r}."
            )
        values = values.astype(float)
        if isinstance(self.bins, numbers.Integral):
            inner = np.linspace(0, 1, int(self.bins) + 1)[1:-1]
            finite = values[np.isfinite(values)]
            if len(finite):  # -inf and inf count as the extreme finite values: no NaN edges
                clipped = np.clip(values, finite.min(), finite.max())
                edges = np.unique(np.quantile(clipped, inner))
            else:
                edges = np.empty(0)
        else:
            edges = np.asarray(self.bins, dtype=float)
        bounds = np.concatenate([[-np.inf], edges, [np.inf]])
        digits = 6  # more where needed to tell the edges apart, e.g. times in seconds
        while len({f"{e:.{digits}g}" for e in edges}) < len(edges) and digits < 17:
            digits += 1
        texts = [
            f"{'(' if np.isinf(lo) else '['}{lo:.{digits}g}, {hi:.{digits}g})"
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        which = np.searchsorted(edges, values, side="right")
        present, codes = np.unique(which, return_inverse=True)
        return codes.ravel(), np.asarray(texts, dtype=object)[present]


# -- ExtrapolationSplit -----------------------------------------------------------------------
class ExtrapolationSplit(_FrameSplitter):
    """Cross-validation that tests beyond the training range of one variable.

    The rows are sorted by ``variable`` (a column, an expression of columns, or a relation
    of a theory). Fold ``k`` (``k = 1 ... n_splits``) trains on the rows below a threshold
    at the quantile ``train_fraction * k / n_splits`` and tests on all rows above it, so
    every test value lies strictly above every training value (strictly below with
    ``direction="low"``). The thresholds fall only between distinct values.

    Parameters
    ----------
    variable : str or Expression
        A column name, a relation name of ``theory``, or an expression of the columns.
    n_splits : int, default=3
        Number of folds, >= 1.
    direction : {"high", "low"}, default="high"
        Test on the high values (train on the low ones), or the reverse.
    train_fraction : float, optional
        The fraction of rows the largest training set holds, strictly between 0 and 1.
        By default ``n_splits / (n_splits + 1)``: training fractions ``1/(n+1) ... n/(n+1)``.
    theory : Theory, optional
        Lets ``variable`` name a relation of the theory, and supplies its parameter values.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"AirTemp": [12.0, -3.0, 25.0, 4.0, 18.0, 30.0, 7.0, 21.0]})
    >>> for train, test in ExtrapolationSplit("AirTemp", n_splits=3).split(X):
    ...     print(X["AirTemp"].iloc[train].max(), "<", X["AirTemp"].iloc[test].min())
    4.0 < 7.0
    12.0 < 18.0
    21.0 < 25.0
    >>> cv = ExtrapolationSplit("AirTemp", n_splits=1, direction="low", train_fraction=0.75)
    >>> [(sorted(X["AirTemp"].iloc[test])) for _, test in cv.split(X)]
    [[-3.0, 4.0]]
    """

    _parameter_rules = {
        "variable": _COLUMN_OR_EXPRESSION,
        "n_splits": Int(1),
        "direction": OneOf("high", "low"),
        "train_fraction": _FRACTION,
        "theory": _THEORY,
    }

    def __init__(
        self,
        variable: str | Expression,
        *,
        n_splits: int = 3,
        direction: str = "high",
        train_fraction: float | None = None,
        theory: Theory | None = None,
    ):
        self.variable = variable
        self.n_splits = n_splits
        self.direction = direction
        self.train_fraction = train_fraction
        self.theory = theory

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """The number of folds, ``n_splits``."""
        self._validate()
        return self.n_splits

    def _folds(self, X: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        self._validate()
        owner = self._label()
        values = _numeric_values(_frame(X, owner), self.variable, self.theory, owner)
        key = values if self.direction == "high" else -values
        order = np.argsort(key, kind="stable")
        distinct, starts = np.unique(key[order], return_index=True)
        if len(distinct) < self.n_splits + 1:
            raise DataError(
                f"{owner} with n_splits={self.n_splits} needs at least {self.n_splits + 1} "
                f"distinct values of {str(self.variable)!r}; X has {len(distinct)}. "
                "Lower n_splits."
            )
        n = len(key)
        largest = self.train_fraction or self.n_splits / (self.n_splits + 1)
        targets = [largest * k / self.n_splits * n for k in range(1, self.n_splits + 1)]
        return [
            (_sorted_positions(order[: starts[j]]), _sorted_positions(order[starts[j] :]))
            for j in _distinct_cuts(starts, targets)
        ]
