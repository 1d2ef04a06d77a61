"""Rows named by the data frame's index labels in ``check_data`` and ``audit``.

A filtered frame (``df[df.x > 2]``), a date index, a MultiIndex or repeated labels: the
reports name rows as ``df.loc`` finds them (text, ``example_labels``,
``violation_labels``, ``to_records``), while ``examples`` and ``violations`` keep the
positions that ``df.iloc`` and the repairs use. Polars frames and the default index
have labels equal to positions.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from tgds.exceptions import DataError
from tgds.refine import ConsistentRegressor, ConstraintResult, audit
from tgds.theory import Bounds, Monotonic, Theory, Variable

pl = pytest.importorskip("polars")


@pytest.fixture(scope="module")
def bounded() -> Theory:
    """x in [0, 10], y a target in [0, 1]."""
    return Theory([Variable("x", "m", bounds=(0, 10)), Variable("y", "1", role="target")])


def _capped() -> Theory:
    """The target y of the input x must not exceed 1."""
    return Theory(
        [Variable("x"), Variable("y", role="target")], constraints=[Bounds("y", upper=1.0)]
    )


def _ys(n: int) -> list[float]:
    """n distinct target values (a constant column would be one more issue)."""
    return [0.1 * (k + 1) for k in range(n)]


def _double(X: pd.DataFrame) -> np.ndarray:
    return 2.0 * X["x"].to_numpy(dtype=float)


# -- check_data ----------------------------------------------------------------------------
def test_check_data_names_rows_of_a_filtered_frame_by_label(bounded: Theory) -> None:
    df = pd.DataFrame({"x": [1.0, 20.0, 3.0, 30.0, np.nan], "y": _ys(5)})
    df.index = [10, 17, 25, 42, 60]
    part = df[df.index > 12]  # labels 17, 25, 42, 60 at positions 0, 1, 2, 3
    report = bounded.check_data(part)
    (out,) = [i for i in report.issues if i.kind == "out_of_bounds"]
    assert out.examples == ((0, 20.0), (2, 30.0))  # positions, for iloc
    assert out.example_labels == ((17, 20.0), (42, 30.0))  # labels, for loc
    assert [part.loc[r, "x"] for r, _ in out.example_labels] == [20.0, 30.0]
    assert [part.iloc[r]["x"] for r, _ in out.examples] == [20.0, 30.0]
    text = str(report)
    assert "e.g. row 17: 20, row 42: 30" in text and "row 60: nan" in text
    records = {r["kind"]: r for r in report.to_records()}
    assert records["out_of_bounds"]["examples"] == [[17, 20.0], [42, 30.0]]
    assert records["nan"]["examples"] == [[60, "nan"]]
    with pytest.raises(DataError, match="row 17: 20, row 42: 30"):
        bounded.check_data(part, strict=True)


def test_check_data_names_repeated_rows_by_label(bounded: Theory) -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, 1.0, 2.0], "y": [0.1, 0.2, 0.1, 0.2]}, index=[5, 9, 14, 30])
    report = bounded.check_data(df)
    (issue,) = [i for i in report.issues if i.kind == "duplicate_rows"]
    assert issue.examples == ((2, 0), (3, 1))
    assert issue.example_labels == ((14, 5), (30, 9))
    assert "e.g. row 14 = row 5, row 30 = row 9" in str(report)
    assert report.to_records()[0]["examples"] == [[14, 5], [30, 9]]


def test_check_data_shows_dates_of_a_date_index_as_typed(bounded: Theory) -> None:
    days = pd.date_range("2020-01-05", periods=4, freq="D", name="date")
    df = pd.DataFrame({"x": [1.0, 12.0, 2.0, np.inf], "y": _ys(4)}, index=days)
    report = bounded.check_data(df)
    (out,) = [i for i in report.issues if i.kind == "out_of_bounds"]
    assert out.example_labels == ((pd.Timestamp("2020-01-06"), 12.0),)
    assert df.loc["2020-01-06", "x"] == 12.0
    text = str(report)
    assert "row 2020-01-06: 12" in text and "row 2020-01-08: inf" in text
    records = report.to_records()
    assert [r["examples"] for r in records] == [[["2020-01-08", "inf"]], [["2020-01-06", 12.0]]]
    json.loads(json.dumps(records, allow_nan=False))  # strict JSON still


def test_check_data_with_string_multi_and_repeated_labels(bounded: Theory) -> None:
    values = {"x": [1.0, 11.0, 12.0, 2.0], "y": _ys(4)}
    by_name = bounded.check_data(pd.DataFrame(values, index=["a", "b", "c", "d"]))
    assert "e.g. row 'b': 11, row 'c': 12" in str(by_name)
    assert by_name.to_records()[0]["examples"] == [["b", 11.0], ["c", 12.0]]
    pairs = pd.MultiIndex.from_tuples([("lake", 1), ("lake", 2), ("pond", 1), ("pond", 2)])
    multi = pd.DataFrame(values, index=pairs)
    (out,) = bounded.check_data(multi).issues
    assert out.example_labels == ((("lake", 2), 11.0), (("pond", 1), 12.0))
    assert multi.loc[("pond", 1), "x"] == 12.0
    assert "e.g. row ('lake', 2): 11, row ('pond', 1): 12" in str(bounded.check_data(multi))
    assert bounded.check_data(multi).to_records()[0]["examples"][0] == [["lake", 2], 11.0]
    twice = bounded.check_data(pd.DataFrame(values, index=[7, 7, 8, 8]))  # not unique: no crash
    assert twice.issues[0].example_labels == ((7, 11.0), (8, 12.0))
    assert "e.g. row 7: 11, row 8: 12" in str(twice)


@pytest.mark.parametrize("lib", ["pandas", "polars", "dict"])
def test_check_data_labels_are_positions_without_an_index(bounded: Theory, lib: str) -> None:
    columns = {"x": [1.0, 11.0, 2.0], "y": _ys(3)}
    data = {"pandas": pd.DataFrame, "polars": pl.DataFrame, "dict": dict}[lib](columns)
    (out,) = bounded.check_data(data).issues
    assert out.examples == out.example_labels == ((1, 11.0),)


# -- audit ---------------------------------------------------------------------------------
def test_audit_names_rows_of_a_filtered_frame_by_label() -> None:
    df = pd.DataFrame({"x": [0.1, 0.9, 0.2, 0.7, 0.3]}, index=[3, 17, 25, 42, 60])
    part = df[df.index > 10]  # labels 17, 25, 42, 60 at positions 0..3
    report = audit(_double, _capped(), part)
    (result,) = report.results
    assert result.violations == (((0,), pytest.approx(0.8)), ((2,), pytest.approx(0.4)))
    assert result.violation_labels == (((17,), pytest.approx(0.8)), ((42,), pytest.approx(0.4)))
    assert result.worst_labels == result.violation_labels
    assert [part.loc[rows[0], "x"] for rows, _ in result.worst_labels] == [0.9, 0.7]
    assert "worst: rows 17: 0.8; rows 42: 0.4" in str(report)


def test_audit_names_pairs_of_rows_by_label() -> None:
    theory = Theory(
        [Variable("d"), Variable("lake", role="group"), Variable("y", role="target")],
        constraints=[Monotonic("y", wrt="d", within="lake", direction="increasing")],
    )
    X = pd.DataFrame(
        {"d": [0.0, 1.0, 2.0, 0.0, 1.0], "lake": ["a", "a", "a", "b", "b"]},
        index=pd.date_range("2021-06-01", periods=5, freq="D"),
    )
    falling = np.array([0.0, 1.0, 0.5, 0.0, 1.0])  # lake a falls from d = 1 to d = 2
    (result,) = audit(lambda X: falling, theory, X).results
    assert result.violations == (((1, 2), 0.5),)
    assert result.violation_labels == (
        ((pd.Timestamp("2021-06-02"), pd.Timestamp("2021-06-03")), 0.5),
    )
    assert "rows 2021-06-02,2021-06-03: 0.5" in str(audit(lambda X: falling, theory, X))


def test_audit_with_multi_and_repeated_index_labels() -> None:
    x = [0.1, 0.9, 0.7]
    multi = pd.DataFrame({"x": x}, index=pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)]))
    report = audit(_double, _capped(), multi)
    assert [rows for rows, _ in report.results[0].violation_labels] == [(("a", 2),), (("b", 1),)]
    assert "worst: rows ('a', 2): 0.8; rows ('b', 1): 0.4" in str(report)
    twice = audit(_double, _capped(), pd.DataFrame({"x": x}, index=[4, 4, 4]))  # no crash
    assert [rows for rows, _ in twice.results[0].violation_labels] == [(4,), (4,)]
    assert [rows for rows, _ in twice.results[0].violations] == [(1,), (2,)]


def test_audit_labels_are_positions_for_polars_and_direct_results() -> None:
    (result,) = audit(_double, _capped(), pl.DataFrame({"x": [0.1, 0.9]})).results
    assert result.violation_labels == result.violations == (((1,), pytest.approx(0.8)),)
    direct = ConstraintResult("bounds", "cap", 2, 1, 0.5, 0.5, (((1,), 0.5),))
    assert direct.violation_labels == direct.violations and direct.worst_labels == direct.worst


def test_audit_names_the_row_of_a_missing_observation_by_label() -> None:
    theory = Theory([Variable("x"), Variable("a", role="target"), Variable("b", role="target")])
    X = pd.DataFrame({"x": [0.1, 0.2, 0.3]}, index=[17, 42, 56])
    y = pd.DataFrame({"a": [0.2, np.nan, 0.6], "b": [1.0, 2.0, 3.0]}, index=X.index)
    with pytest.raises(DataError, match=r"first at row 42\)"):
        audit(lambda X: y.to_numpy(), theory, X, y=y)


def test_rejection_uses_positions_while_the_audit_names_labels() -> None:
    train = pd.DataFrame({"x": [0.0, 0.25, 0.5, 1.0]})
    model = ConsistentRegressor(LinearRegression(), _capped(), repairs=(), reject=True)
    model.fit(train, 2.0 * train["x"])
    test = pd.DataFrame({"x": [0.1, 0.9, 0.2]}, index=[17, 42, 56])
    (result,) = audit(model.estimator_, _capped(), test).results
    assert result.violation_labels == (((42,), pytest.approx(0.8)),)
    out = model.predict(test)
    assert np.isnan(out[1]) and np.isfinite(out[[0, 2]]).all()  # position 1 is label 42


def test_audit_refuses_a_missing_observation_of_a_single_target():
    # a 1-D y returned before its finiteness check, and the RMSE came out NaN
    theory = Theory([Variable("x", "m"), Variable("y", "m", bounds=(0, 10), role="target")])
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=[5, 6, 7])
    with pytest.raises(
        DataError, match=r"y has 1 missing or infinite value\(s\) \(first at row 6\)"
    ):
        audit(lambda d: d["x"].to_numpy(), theory, X, y=np.array([1.0, np.nan, 3.0]))
