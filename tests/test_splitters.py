"""Tests of the physics-aware cross-validation splitters in :mod:`tgds.selection`.

The property-based tests check the one promise each splitter makes (no leakage across
time, space, regimes or the training range) on random data; the others check known
answers, scikit-learn integration, polars input, reprs and error messages.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_validate
from sklearn.pipeline import make_pipeline

from tgds.exceptions import DataError, TheoryError
from tgds.selection import BlockedTimeSplit, ExtrapolationSplit, RegimeSplit, SpatialBlockSplit
from tgds.theory import Parameter, Relation, Theory, Variable

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def folds_of(cv, X):
    return [(np.asarray(train), np.asarray(test)) for train, test in cv.split(X)]


def to_polars(frame):
    """The pandas frame as a polars frame (without needing pyarrow)."""
    return pl.DataFrame({c: frame[c].to_numpy() for c in frame.columns})


def check_indices(folds, n_rows):
    """Every fold: non-empty, disjoint, sorted, in range."""
    for train, test in folds:
        assert len(train) > 0 and len(test) > 0
        assert np.intersect1d(train, test).size == 0
        for part in (train, test):
            assert part.dtype.kind == "i"
            assert np.all(np.diff(part) > 0)
            assert part.min() >= 0 and part.max() < n_rows


@pytest.fixture(scope="module")
def lake():
    """Lake-like profiles: 30 dates x 6 depths, rows shuffled, with weather and positions."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2020-04-01", periods=30, freq="D")
    depth = np.tile(np.arange(0.0, 12.0, 2.0), len(dates))
    date = np.repeat(dates, 6)
    doy = date.day_of_year.to_numpy().astype(float)
    air = 10 * np.sin((doy - 100) / 20) + rng.normal(0, 2, len(doy))
    frame = pd.DataFrame(
        {
            "date": date.strftime("%Y-%m-%d"),
            "doy": doy,
            "Depth": depth,
            "AirTemp": air,
            "x": rng.uniform(0, 10, len(doy)),
            "y": rng.uniform(0, 10, len(doy)),
            "site": rng.choice(["north", "south", "east"], len(doy)),
        }
    )
    frame["T"] = 4 + 0.6 * frame["AirTemp"] * np.exp(-frame["Depth"] / 5) + rng.normal(0, 0.1)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


# -- BlockedTimeSplit ---------------------------------------------------------------------------
@st.composite
def repeated_times(draw):
    """Integer times, each distinct value repeated 1-4 times, in random row order."""
    n_splits = draw(st.integers(1, 5))
    distinct = draw(
        st.lists(st.integers(-50, 200), min_size=n_splits + 1, max_size=30, unique=True)
    )
    repeats = draw(st.lists(st.integers(1, 4), min_size=len(distinct), max_size=len(distinct)))
    times = np.repeat(distinct, repeats)
    order = draw(st.permutations(range(len(times))))
    return times[list(order)], n_splits


@FAST
@given(data=repeated_times(), gap=st.integers(0, 6), test_size=st.none() | st.integers(1, 4))
def test_blocked_time_never_leaks(data, gap, test_size):
    times, n_splits = data
    X = pd.DataFrame({"t": times, "v": np.arange(len(times), dtype=float)})
    cv = BlockedTimeSplit(n_splits, gap=gap, time="t", test_size=test_size)
    try:
        folds = folds_of(cv, X)
    except DataError as err:  # only an over-long test block or gap may leave nothing to train on
        assert "nothing to train on" in str(err) or "no training rows" in str(err)
        event("refused")
        return
    assert len(folds) == cv.get_n_splits(X) == n_splits
    check_indices(folds, len(times))
    previous_end = -np.inf
    for train, test in folds:
        start = times[test].min()
        assert times[train].max() < start
        assert start - times[train].max() > gap
        assert not set(times[train]) & set(times[test])  # no time value on both sides
        # nothing is dropped but the gap: every row before start - gap trains
        assert np.array_equal(train, np.flatnonzero(times < start - gap))
        # test blocks move forward in time and hold whole time values
        assert start > previous_end
        previous_end = times[test].max()
        assert np.array_equal(test, np.flatnonzero(np.isin(times, times[test])))


@FAST
@given(
    n=st.integers(8, 60),
    n_splits=st.integers(2, 5),
    gap=st.integers(0, 3),
    test_size=st.none() | st.integers(1, 5),
)
def test_blocked_time_without_time_column_is_time_series_split(n, n_splits, gap, test_size):
    """With one row per time, the folds are exactly those of scikit-learn's TimeSeriesSplit."""
    X = np.zeros((n, 2))
    cv = BlockedTimeSplit(n_splits, gap=gap, test_size=test_size)
    reference = TimeSeriesSplit(n_splits, gap=gap, test_size=test_size)
    try:
        expected = list(reference.split(X))
    except ValueError:  # too many splits for the rows: refused by both
        with pytest.raises(DataError):
            folds_of(cv, X)
        return
    got = folds_of(cv, X)
    assert len(got) == len(expected)
    for (train, test), (want_train, want_test) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(train, want_train)
        np.testing.assert_array_equal(test, want_test)


def test_blocked_time_single_fold_is_a_holdout():
    folds = folds_of(BlockedTimeSplit(1, gap=1), np.zeros((7, 1)))
    assert [(list(train), list(test)) for train, test in folds] == [
        ([0, 1, 2], [4, 5, 6])
    ]  # row 3 is the gap


def test_blocked_time_keeps_each_lake_profile_whole(lake):
    folds = folds_of(BlockedTimeSplit(5, time="date"), lake)
    check_indices(folds, len(lake))
    for train, test in folds:
        assert lake["date"].iloc[train].max() < lake["date"].iloc[test].min()
        assert lake["date"].iloc[test].value_counts().eq(6).all()  # every depth of the date
    sizes = [len(test) for _, test in folds]
    assert sizes == [30, 30, 30, 30, 30]  # 180 rows / 6 blocks, cut between dates


def test_blocked_time_reads_dates_in_every_form(lake):
    """ISO strings, pandas datetimes, polars dates and day numbers give the same folds."""
    days = folds_of(BlockedTimeSplit(4, time="doy", gap=2), lake)
    as_datetime = lake.assign(date=pd.to_datetime(lake["date"]))
    as_polars = to_polars(lake).with_columns(pl.col("date").str.to_date())
    for X, gap in [
        (lake, 2),
        (as_datetime, 2.0),
        (as_datetime, dt.timedelta(days=2)),
        (as_datetime.assign(date=as_datetime["date"].dt.tz_localize("UTC")), pd.Timedelta("2D")),
        (as_polars, np.timedelta64(2, "D")),
    ]:
        got = folds_of(BlockedTimeSplit(4, time="date", gap=gap), X)
        for (train, test), (want_train, want_test) in zip(got, days, strict=True):
            np.testing.assert_array_equal(train, want_train)
            np.testing.assert_array_equal(test, want_test)


def test_blocked_time_gap_in_days_drops_whole_days(lake):
    for train, test in BlockedTimeSplit(3, time="date", gap=3).split(lake):
        last_train = pd.Timestamp(lake["date"].iloc[train].max())
        first_test = pd.Timestamp(lake["date"].iloc[test].min())
        assert first_test - last_train == pd.Timedelta(days=4)  # days t-3 .. t-1 left out


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"gap": -1},
            "The 'gap' parameter of BlockedTimeSplit must be an int >= 0. Got -1 instead.",
        ),
        ({"gap": 1.5}, "The 'gap' parameter of BlockedTimeSplit must be an int >= 0. Got 1.5"),
        ({"n_splits": 0}, "The 'n_splits' parameter of BlockedTimeSplit must be an int >= 1."),
        ({"test_size": 0}, "The 'test_size' parameter of BlockedTimeSplit must be an int >= 1"),
        ({"time": 3}, "The 'time' parameter of BlockedTimeSplit must be a column name or None"),
        ({"time": "doy", "gap": -0.5}, "must be a float >= 0 or a timedelta >= 0. Got -0.5"),
        ({"time": "doy", "gap": dt.timedelta(days=1)}, "in the units of the numeric column 'doy'"),
    ],
)
def test_blocked_time_parameter_errors(lake, params, message):
    with pytest.raises(ValueError, match=_escaped(message)):
        list(BlockedTimeSplit(**params).split(lake))


def test_blocked_time_data_errors(lake):
    with pytest.raises(DataError, match=r"X has no column 'Date'; its columns are date, doy"):
        list(BlockedTimeSplit(time="Date").split(lake))
    holes = lake.assign(doy=lake["doy"].where(lake.index % 50 != 0))
    with pytest.raises(DataError, match=r"column 'doy' has 4 missing values \(NaN\) in 180 rows"):
        list(BlockedTimeSplit(time="doy").split(holes))
    with pytest.raises(DataError, match=r"needs at least 31 distinct values in column 'date'.*30"):
        list(BlockedTimeSplit(30, time="date").split(lake))
    with pytest.raises(DataError, match="no training rows"):
        list(BlockedTimeSplit(4, time="doy", gap=10).split(lake))
    one_missing = lake.assign(date=lake["date"].where(lake.index != 7))
    with pytest.raises(DataError, match=r"column 'date' has 1 missing value \(NaN\) in 180"):
        list(BlockedTimeSplit(time="date").split(one_missing))
    with pytest.raises(DataError, match="ISO 8601 date strings"):
        list(BlockedTimeSplit(time="site").split(lake))


def test_blocked_time_gap_longer_than_int64_nanoseconds_refuses_instead_of_leaking():
    """Dates before 1970 minus a gap of centuries wrapped around int64: test rows trained."""
    X = pd.DataFrame({"t": pd.to_datetime([f"{year}-01-01" for year in range(1700, 2000, 50)])})
    for gap in (100_000, pd.Timedelta(days=100_000), float("inf"), 1e9):
        with pytest.raises(DataError, match="fold 0 has no training rows"):
            list(BlockedTimeSplit(2, time="t", gap=gap).split(X))
    infinite = pd.DataFrame({"t": [0.0, 1.0, 2.0, np.inf, np.inf]})  # inf - inf is NaN
    with pytest.raises(DataError, match="fold 0 has no training rows"):
        list(BlockedTimeSplit(1, time="t", gap=np.inf).split(infinite))
    folds = folds_of(BlockedTimeSplit(2, time="t", gap=365 * 51), X)
    assert [(list(train), list(test)) for train, test in folds] == [
        ([0], [2, 3]),
        ([0, 1, 2], [4, 5]),
    ]


def test_blocked_time_dates_beyond_nanoseconds_are_named():
    X = pd.DataFrame({"t": np.array(["1500-01-01", "1600-01-01", "1700-01-01"], "datetime64[s]")})
    for frame in (X, X.assign(t=X["t"].astype(str))):
        with pytest.raises(DataError, match=r"BlockedTimeSplit: column 't' holds times from 1500"):
            list(BlockedTimeSplit(1, time="t").split(frame))


# -- SpatialBlockSplit -----------------------------------------------------------------------------
@st.composite
def points(draw):
    n = draw(st.integers(10, 60))
    coordinate = st.floats(0, 10, allow_nan=False).map(lambda v: round(v, 3))
    xy = draw(st.lists(st.tuples(coordinate, coordinate), min_size=n, max_size=n))
    return pd.DataFrame(xy, columns=["x", "y"])


@FAST
@given(
    X=points(),
    n_splits=st.integers(2, 4),
    size=st.floats(1.0, 5.0),
    buffer=st.sampled_from([0.0, 0.5, 1.0, 2.5]),
    seed=st.integers(0, 1000),
)
def test_spatial_blocks_never_leak(X, n_splits, size, buffer, seed):
    cv = SpatialBlockSplit(n_splits, block_size=size, buffer=buffer, random_state=seed)
    xy = X[["x", "y"]].to_numpy()
    cell = np.floor(np.round((xy - xy.min(axis=0)) / size, 9))  # an edge within 1e-9 counts
    try:
        folds = folds_of(cv, X)
    except DataError as err:
        event("refused")
        assert "non-empty blocks" in str(err) or "no training rows" in str(err)
        if "non-empty blocks" in str(err):
            assert len(np.unique(cell, axis=0)) < n_splits
        return
    assert len(folds) == cv.get_n_splits(X) == n_splits
    check_indices(folds, len(X))
    tested = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(tested), np.arange(len(X)))  # every row tested once
    for train, test in folds:
        test_cells = np.unique(cell[test], axis=0)
        in_test_block = (cell[:, None, :] == test_cells[None, :, :]).all(axis=2).any(axis=1)
        assert np.array_equal(np.flatnonzero(in_test_block), test)  # whole blocks only
        low = xy.min(axis=0) + test_cells * size
        outside = np.maximum(np.maximum(low - xy[:, None, :], xy[:, None, :] - (low + size)), 0)
        to_block = np.sqrt((outside**2).sum(axis=2)).min(axis=1)
        assert np.all(to_block[train] >= buffer - 1e-9)  # buffer measured to the blocks ...
        to_rows = np.sqrt(((xy[train, None, :] - xy[None, test, :]) ** 2).sum(axis=2))
        assert np.all(to_rows >= buffer - 1e-9)  # ... hence to every test row
        kept = np.setdiff1d(np.flatnonzero(to_block >= buffer + 1e-9), test)
        assert np.isin(kept, train).all()  # and nothing else is dropped


def test_spatial_random_state_reproducible(lake):
    def tests(seed):
        return [tuple(test) for _, test in SpatialBlockSplit(3, random_state=seed).split(lake)]

    assert tests(0) == tests(0)
    assert len({tuple(tests(seed)) for seed in range(5)}) > 1
    folds = folds_of(SpatialBlockSplit(3, random_state=0), lake)
    sizes = [len(test) for _, test in folds]
    assert max(sizes) - min(sizes) < 0.5 * len(lake) / 3  # dealt to the lightest fold


def test_spatial_blocks_of_a_decimal_grid_hold_one_column_each():
    # 0.3 / 0.1 is 2.9999999999999996 in binary: a plain floor put the points at 0.3 into
    # the block of 0.2 and left the block of 0.3 empty
    X = pd.DataFrame({"x": np.repeat([round(0.1 * k, 1) for k in range(10)], 3)})
    folds = folds_of(SpatialBlockSplit(10, coords=["x"], block_size=0.1, random_state=0), X)
    for _, test in folds:
        assert len(test) == 3 and X["x"].iloc[test].nunique() == 1
    x = np.linspace(0.0, 1.2, 13)  # n_blocks: widths of 0.1 from the span
    folds = folds_of(SpatialBlockSplit(12, coords=["x"], n_blocks=12), pd.DataFrame({"x": x}))
    assert sorted(len(test) for _, test in folds) == [1] * 11 + [2]  # 1.2 joins the last block


def test_spatial_one_and_three_coordinates(lake):
    one = folds_of(SpatialBlockSplit(3, coords=["x"], n_blocks=6, random_state=1), lake)
    check_indices(one, len(lake))
    x = lake["x"].to_numpy()
    for _, test in one:
        block = np.minimum(np.floor(np.round((x - x.min()) / ((x.max() - x.min()) / 6), 9)), 5)
        assert np.isin(block, block[test]).sum() == len(test)
    three = SpatialBlockSplit(2, coords=("x", "y", "Depth"), n_blocks=(2, 2, 3), random_state=0)
    check_indices(folds_of(three, lake), len(lake))


def test_spatial_errors(lake):
    with pytest.raises(ValueError, match="takes block_size or n_blocks, not both"):
        list(SpatialBlockSplit(block_size=1.0, n_blocks=3).split(lake))
    with pytest.raises(ValueError, match=r"'block_size' parameter .* one entry per coordinate"):
        list(SpatialBlockSplit(block_size=(1.0, 2.0, 3.0)).split(lake))
    with pytest.raises(ValueError, match="The 'buffer' parameter of SpatialBlockSplit must be a"):
        list(SpatialBlockSplit(buffer=-1.0).split(lake))
    with pytest.raises(ValueError, match="'n_splits' parameter of SpatialBlockSplit .* >= 2"):
        list(SpatialBlockSplit(1).split(lake))
    with pytest.raises(ValueError, match="'coords' parameter .* a tuple of distinct column"):
        list(SpatialBlockSplit(coords="xy").split(lake))
    with pytest.raises(DataError, match="X has no column 'lon'; its columns are date"):
        list(SpatialBlockSplit(coords=("lon", "lat")).split(lake))
    with pytest.raises(DataError, match=r"1 missing value \(NaN\)"):
        list(SpatialBlockSplit().split(lake.assign(x=lake["x"].where(lake.index != 3))))
    with pytest.raises(DataError, match="1 infinite value;"):
        list(SpatialBlockSplit().split(lake.assign(y=lake["y"].where(lake.index != 3, np.inf))))
    with pytest.raises(DataError, match="4 non-empty blocks, fewer than n_splits=5"):
        list(SpatialBlockSplit(5, n_blocks=2).split(lake))
    with pytest.raises(DataError, match="no training rows left outside buffer=20.0"):
        list(SpatialBlockSplit(2, buffer=20.0).split(lake))
    with pytest.raises(DataError, match="needs rows in at least 2 blocks; X has 0 rows"):
        list(SpatialBlockSplit(2).split(lake.iloc[:0]))


# -- RegimeSplit -------------------------------------------------------------------------------------
@FAST
@given(
    labels=st.lists(st.sampled_from([-1, 0, 3, 7, 11]), min_size=2, max_size=60),
    n_splits=st.none() | st.integers(2, 4),
)
def test_regimes_never_leak(labels, n_splits):
    labels = np.asarray(labels)
    X = pd.DataFrame({"regime": labels, "v": np.arange(len(labels), dtype=float)})
    cv = RegimeSplit("regime", n_splits=n_splits)
    n_regimes = len(np.unique(labels))
    if n_regimes < max(n_splits or n_regimes, 2):
        with pytest.raises(DataError, match="regime"):
            folds_of(cv, X)
        return
    folds = folds_of(cv, X)
    assert len(folds) == cv.get_n_splits(X) == (n_splits or n_regimes)
    check_indices(folds, len(labels))
    seen = []
    for train, test in folds:
        fold_regimes = set(labels[test])
        assert not fold_regimes & set(labels[train])  # no regime on both sides
        assert np.array_equal(train, np.flatnonzero(~np.isin(labels, list(fold_regimes))))
        if n_splits is None:
            assert len(fold_regimes) == 1  # one regime per fold
        seen.extend(fold_regimes)
    assert sorted(seen) == sorted(set(labels))  # every regime tested exactly once


def test_regime_labels_keep_their_type():
    X = pd.DataFrame({"lake": [3, 1, 3, 2], "frozen": [True, False, True, True]})
    np.testing.assert_array_equal(RegimeSplit("lake").regimes(X), [3, 1, 3, 2])
    assert RegimeSplit("lake").regimes(X).dtype.kind == "i"
    assert [list(test) for _, test in RegimeSplit("frozen").split(X)] == [[1], [0, 2, 3]]


def test_regime_by_expression(lake):
    cv = RegimeSplit("where(AirTemp < 0, 1, 0)")
    frozen = (lake["AirTemp"] < 0).to_numpy()
    (train0, test0), (train1, test1) = folds_of(cv, lake)
    np.testing.assert_array_equal(test0, np.flatnonzero(~frozen))  # regime 0 first (sorted)
    np.testing.assert_array_equal(test1, np.flatnonzero(frozen))
    np.testing.assert_array_equal(cv.regimes(lake), frozen.astype(float))


def test_regime_by_string_column_and_polars(lake):
    folds = folds_of(RegimeSplit("site"), lake)
    assert [set(lake["site"].iloc[test]) for _, test in folds] == [{"east"}, {"north"}, {"south"}]
    polars_folds = folds_of(RegimeSplit("site"), to_polars(lake))
    for (train, test), (p_train, p_test) in zip(folds, polars_folds, strict=True):
        np.testing.assert_array_equal(train, p_train)
        np.testing.assert_array_equal(test, p_test)


def test_regime_bins(lake):
    edges = RegimeSplit("AirTemp", bins=[-5.0, 5.0])
    air = lake["AirTemp"].to_numpy()
    expected = np.where(air < -5, "(-inf, -5)", np.where(air < 5, "[-5, 5)", "[5, inf)"))
    np.testing.assert_array_equal(edges.regimes(lake).astype(str), expected)
    assert edges.get_n_splits(lake) == 3
    quantiles = RegimeSplit("AirTemp", bins=4)
    counts = [len(test) for _, test in quantiles.split(lake)]
    assert counts == [45, 45, 45, 45]
    for train, test in quantiles.split(lake):  # a bin is an interval: no overlap of ranges
        inside = (air >= air[test].min()) & (air <= air[test].max())
        assert not inside[train].any()


def test_regime_quantile_bins_of_infinite_values():
    """Quantiles through -inf and inf were NaN edges: a bin '(inf, inf)' and lost rows."""
    X = pd.DataFrame({"v": [-np.inf, np.inf, 1.0, 2.0, 3.0, 4.0]})
    regimes = RegimeSplit("v", bins=3).regimes(X)
    assert list(regimes) == ["(-inf, 1.66667)", "[3.33333, inf)", "(-inf, 1.66667)",
                             "[1.66667, 3.33333)", "[1.66667, 3.33333)", "[3.33333, inf)"]  # fmt: skip
    with pytest.raises(DataError, match="X has 1 regime"):
        list(RegimeSplit("v", bins=2).split(pd.DataFrame({"v": [np.inf, -np.inf]})))
    with pytest.raises(DataError, match="X has 0 regimes"):
        list(RegimeSplit("v", bins=2).split(X.iloc[:0]))


def test_regime_bin_labels_tell_close_edges_apart():
    X = pd.DataFrame({"t": [1.6e9, 1.6e9 + 150, 1.6e9 + 300]})
    labels = RegimeSplit("t", bins=[1.6e9 + 100, 1.6e9 + 200]).regimes(X)
    assert list(labels) == [  # with 6 digits, all three were '1.6e+09'
        "(-inf, 1.6000001e+09)",
        "[1.6000001e+09, 1.6000002e+09)",
        "[1.6000002e+09, inf)",
    ]


def test_regime_from_theory_relation(lake):
    theory = Theory(
        variables=[Variable("Depth", "m"), Variable("AirTemp", "degC"), Variable("T", "degC")],
        parameters=[Parameter("d_mix", "m", value=4.0)],
        relations={"deep": Relation("deep", "where(Depth > d_mix, 1, 0)", unit="1")},
    )
    cv = RegimeSplit("deep", theory=theory)
    np.testing.assert_array_equal(cv.regimes(lake), (lake["Depth"] > 4).astype(float))
    by_text = RegimeSplit("where(Depth > d_mix, 1, 0)", theory=theory)
    np.testing.assert_array_equal(by_text.regimes(lake), cv.regimes(lake))
    unset = Theory(variables=[Variable("Depth", "m")], parameters=[Parameter("d_mix", "m")])
    with pytest.raises(DataError, match="'d_mix' \\(a theory parameter without a value\\)"):
        RegimeSplit("Depth - d_mix", theory=unset, bins=[0.0]).regimes(lake)


def test_regime_errors(lake):
    with pytest.raises(DataError, match="X has no column 'Site'; its columns are date, doy"):
        list(RegimeSplit("Site").split(lake))
    with pytest.raises(DataError, match="uses 'Air', which X does not have; its columns are"):
        list(RegimeSplit("where(Air < 0, 1, 0)").split(lake))
    with pytest.raises(TheoryError, match="not a column of X .* unknown function '__import__'"):
        list(RegimeSplit("__import__('os')").split(lake))
    with pytest.raises(TheoryError, match="only calls of plain function names"):
        list(RegimeSplit("__import__('os').system('true')").split(lake))
    with pytest.raises(TheoryError, match="contains D"):
        list(RegimeSplit("D(T, Depth)").split(lake))
    with pytest.raises(DataError, match="X has 1 regime by 'where"):
        list(RegimeSplit("where(Depth < 100, 1, 0)").split(lake))
    with pytest.raises(DataError, match="X has 3 regimes .* 4 are needed for n_splits=4"):
        list(RegimeSplit("site", n_splits=4).split(lake))
    with pytest.raises(DataError, match="get_n_splits needs X"):
        RegimeSplit("site").get_n_splits()
    assert RegimeSplit("site", n_splits=2).get_n_splits() == 2
    with pytest.raises(DataError, match=r"2 missing values \(NaN\)"):
        RegimeSplit("site").regimes(lake.assign(site=lake["site"].where(lake.index > 1)))
    with pytest.raises(DataError, match=r"1 missing value \(NaN\)"):
        RegimeSplit("sqrt(AirTemp - 15)", bins=2).regimes(pd.DataFrame({"AirTemp": [14.0, 20.0]}))
    with pytest.raises(DataError, match="bins need numeric values"):
        RegimeSplit("site", bins=2).regimes(lake)
    with pytest.raises(ValueError, match="The 'bins' parameter of RegimeSplit must be an int >= 2"):
        list(RegimeSplit("AirTemp", bins=[3.0, 1.0]).split(lake))
    with pytest.raises(ValueError, match="The 'by' parameter of RegimeSplit must be a column"):
        list(RegimeSplit(3).split(lake))


# -- ExtrapolationSplit ----------------------------------------------------------------------------
@FAST
@given(
    values=st.lists(st.integers(-20, 20).map(float), min_size=3, max_size=60),
    n_splits=st.integers(1, 4),
    direction=st.sampled_from(["high", "low"]),
    fraction=st.none() | st.floats(0.1, 0.9),
)
def test_extrapolation_never_leaks(values, n_splits, direction, fraction):
    values = np.asarray(values)
    X = pd.DataFrame({"v": values})
    cv = ExtrapolationSplit("v", n_splits=n_splits, direction=direction, train_fraction=fraction)
    if len(np.unique(values)) < n_splits + 1:
        with pytest.raises(DataError, match="distinct values"):
            folds_of(cv, X)
        return
    folds = folds_of(cv, X)
    assert len(folds) == cv.get_n_splits(X) == n_splits
    check_indices(folds, len(values))
    sign = 1 if direction == "high" else -1
    sizes = []
    for train, test in folds:
        assert (sign * values[test]).min() > (sign * values[train]).max()  # strictly beyond
        assert len(train) + len(test) == len(values)  # all rows used
        sizes.append(len(train))
    assert sizes == sorted(set(sizes))  # training sets grow, strictly


def test_extrapolation_training_fractions():
    X = pd.DataFrame({"v": np.arange(100.0)[::-1]})
    sizes = [len(train) for train, _ in ExtrapolationSplit("v", n_splits=3).split(X)]
    assert sizes == [25, 50, 75]
    cv = ExtrapolationSplit("v", n_splits=2, train_fraction=0.6, direction="low")
    folds = folds_of(cv, X)
    assert [len(train) for train, _ in folds] == [30, 60]
    assert X["v"].iloc[folds[1][0]].min() == 40.0 and X["v"].iloc[folds[1][1]].max() == 39.0


def test_extrapolation_by_expression_and_relation(lake):
    theory = Theory(
        variables=[Variable("AirTemp", "degC"), Variable("Depth", "m")],
        parameters=[Parameter("lapse", "degC/m", value=-0.5)],
        relations={"surface": Relation("surface", "AirTemp + lapse*Depth", unit="degC")},
    )
    expected = lake["AirTemp"] - 0.5 * lake["Depth"]
    for cv in (
        ExtrapolationSplit("AirTemp - 0.5*Depth"),
        ExtrapolationSplit("surface", theory=theory),
    ):
        for train, test in cv.split(lake):
            assert expected.iloc[test].min() > expected.iloc[train].max()


def test_extrapolation_errors(lake):
    with pytest.raises(
        ValueError,
        match=_escaped(
            "The 'direction' parameter of ExtrapolationSplit must be one of 'high', 'low'. "
            "Got 'up' instead."
        ),
    ):
        list(ExtrapolationSplit("AirTemp", direction="up").split(lake))
    with pytest.raises(ValueError, match="'train_fraction' parameter .* > 0 and < 1 or None"):
        list(ExtrapolationSplit("AirTemp", train_fraction=1.0).split(lake))
    with pytest.raises(DataError, match="at least 7 distinct values of 'Depth'; X has 6"):
        list(ExtrapolationSplit("Depth", n_splits=6).split(lake))
    with pytest.raises(DataError, match="column 'site' must be numeric"):
        list(ExtrapolationSplit("site").split(lake))
    with pytest.raises(DataError, match="X has no column 'airtemp'; its columns are"):
        list(ExtrapolationSplit("airtemp").split(lake))


# -- scikit-learn integration --------------------------------------------------------------------
def _model(columns=None):
    """Ridge on the numeric columns (selected by dtype, or by name for polars)."""
    selected = make_column_selector(dtype_include=np.number) if columns is None else columns
    numeric = make_column_transformer(("passthrough", selected), remainder="drop")
    return make_pipeline(numeric, Ridge())


SPLITTERS = [
    BlockedTimeSplit(4, time="date", gap=2),
    SpatialBlockSplit(3, buffer=0.5, random_state=0),
    RegimeSplit("where(AirTemp < 0, 1, 0)"),
    RegimeSplit("site", n_splits=2),
    ExtrapolationSplit("AirTemp", n_splits=2),
]


@pytest.mark.parametrize("cv", SPLITTERS, ids=repr)
def test_cross_validate_and_grid_search(lake, cv):
    X, y = lake.drop(columns="T"), lake["T"]
    scores = cross_validate(_model(), X, y, cv=cv, scoring="neg_mean_absolute_error")
    assert len(scores["test_score"]) == cv.get_n_splits(X)
    assert np.all(np.isfinite(scores["test_score"]))
    search = GridSearchCV(_model(), {"ridge__alpha": [0.1, 10.0]}, cv=cv).fit(X, y)
    assert search.n_splits_ == cv.get_n_splits(X)
    assert search.best_params_["ridge__alpha"] in (0.1, 10.0)


@pytest.mark.parametrize("cv", SPLITTERS, ids=repr)
def test_polars_gives_the_same_folds(lake, cv):
    pandas_folds = folds_of(cv, lake)
    polars_folds = folds_of(cv, to_polars(lake))
    assert len(pandas_folds) == len(polars_folds)
    for (train, test), (p_train, p_test) in zip(pandas_folds, polars_folds, strict=True):
        np.testing.assert_array_equal(train, p_train)
        np.testing.assert_array_equal(test, p_test)


def test_cross_validate_on_polars(lake):
    X, y = to_polars(lake.drop(columns="T")), lake["T"].to_numpy()
    model = _model(["doy", "Depth", "AirTemp", "x", "y"])
    scores = cross_validate(model, X, y, cv=BlockedTimeSplit(3, time="date"))
    assert len(scores["test_score"]) == 3


def test_reprs():
    def flat(splitter):
        return " ".join(repr(splitter).split())

    assert flat(BlockedTimeSplit(gap=2, time="date")) == (
        "BlockedTimeSplit(gap=2, n_splits=5, test_size=None, time='date')"
    )
    assert flat(SpatialBlockSplit(3, buffer=1.5)) == (
        "SpatialBlockSplit(block_size=None, buffer=1.5, coords=('x', 'y'), n_blocks=None, "
        "n_splits=3, random_state=None)"
    )
    assert (
        flat(RegimeSplit("site")) == "RegimeSplit(bins=None, by='site', n_splits=None, theory=None)"
    )
    assert flat(ExtrapolationSplit("AirTemp")) == (
        "ExtrapolationSplit(direction='high', n_splits=3, theory=None, train_fraction=None, "
        "variable='AirTemp')"
    )


def test_init_only_stores_arguments():
    """Invalid arguments are accepted by __init__ and refused by split, as in scikit-learn."""
    cv = BlockedTimeSplit(n_splits=-3, gap="soon", time=5, test_size=0.5)
    assert (cv.n_splits, cv.gap, cv.time, cv.test_size) == (-3, "soon", 5, 0.5)
    with pytest.raises(ValueError, match="The 'n_splits' parameter"):
        cv.get_n_splits()


def test_split_needs_a_data_frame_with_columns():
    with pytest.raises(DataError, match="must be a pandas or polars DataFrame"):
        list(RegimeSplit("a").split(np.zeros((4, 2))))
    folds = folds_of(BlockedTimeSplit(2), np.zeros((6, 2)))  # without time, any array works
    assert [list(test) for _, test in folds] == [[2, 3], [4, 5]]


def _escaped(text):
    import re

    return re.escape(text)
