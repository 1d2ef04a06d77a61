"""Checking data against a theory with ``check_data``: pandas and polars frames alike.

Covers missing and non-numeric columns, NaN, infinite, out-of-bounds and constant
values, group and time columns, ``Bounds`` constraints on relations computed from the
data, the report's views, and the real Lake Mendota table when it is available.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tgds.exceptions import DataError
from tgds.theory import (
    Bounds,
    DataReport,
    Monotonic,
    Parameter,
    Relation,
    Theory,
    Variable,
    check_data,
)

pl = pytest.importorskip("polars")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LAKE_CSV = SHARED_DATA / "lake" / "mendota_pgnn_table.csv"
DENSITY = "1000*(1 - (T + 288.9414)*(T - 3.9863)**2/(508929.2*(T + 68.12963)))"
LIBRARIES = ["pandas", "polars"]


def frame(lib: str, columns: dict[str, list]):
    """A pandas or polars DataFrame with these columns (None is a missing value)."""
    if lib == "pandas":
        return pd.DataFrame(columns)
    return pl.DataFrame(columns, strict=False)


@pytest.fixture(scope="module")
def theory() -> Theory:
    return Theory(
        [
            Variable("site", role="group"),
            Variable("time", "s", role="time"),
            Variable("x", "m", bounds=(0, 10)),
            Variable("T", "degC", bounds=(0, 40), role="target"),
        ],
        relations=[Relation("density", DENSITY, unit="kg/m^3", empirical=True)],
        constraints=[
            Bounds("density", lower=999.0, upper=1001.0, name="fresh"),
            Monotonic("density", wrt="x", within="site"),
        ],
        name="demo",
    )


def clean(**overrides: list) -> dict[str, list]:
    columns = {
        "site": ["a", "a", "b", "b", "c"],
        "time": [0.0, 1.0, 2.0, 3.0, 4.0],
        "x": [1.0, 2.0, 3.0, 4.0, 5.0],
        "T": [4.0, 5.0, 6.0, 7.0, 8.0],
    }
    columns.update(overrides)
    return columns


def issues_of(report: DataReport, kind: str, column: str | None = None) -> list:
    return [i for i in report.issues if i.kind == kind and column in (None, i.column)]


# -- clean data -----------------------------------------------------------------------------
@pytest.mark.parametrize("lib", LIBRARIES)
def test_clean_data_passes(theory: Theory, lib: str) -> None:
    report = theory.check_data(frame(lib, clean()))
    assert report.ok, str(report)
    assert report.issues == () and report.errors == ()
    assert report.n_rows == 5
    assert [c.name for c in report.columns] == ["site", "time", "x", "T"]
    assert report.extra_columns == ()
    text = str(report)
    assert text.startswith("Data check against theory 'demo': 5 rows, 4 variables checked")
    assert text.endswith("No issues found.")
    assert theory.check_data(frame(lib, clean()), strict=True) == report


def test_function_and_method_agree(theory: Theory) -> None:
    data = pd.DataFrame(clean(x=[1.0, 20.0, 3.0, 4.0, 5.0]))
    assert check_data(theory, data) == theory.check_data(data)


# -- columns --------------------------------------------------------------------------------
@pytest.mark.parametrize("lib", LIBRARIES)
def test_missing_column_is_an_error(theory: Theory, lib: str) -> None:
    columns = clean()
    del columns["T"]
    report = theory.check_data(frame(lib, columns))
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.severity) == ("T", "missing_column", "error")
    assert "missing" in issue.message and "target" in issue.message and "degC" in issue.message
    assert "T" not in [c.name for c in report.columns]
    assert "[error] T: column is missing (the theory's target variable, unit degC)" in str(report)
    assert not report.ok and report.errors == (issue,)


@pytest.mark.parametrize("lib", LIBRARIES)
def test_non_numeric_column_is_an_error(theory: Theory, lib: str) -> None:
    report = theory.check_data(frame(lib, clean(x=["1", "2", "3", "4", "5"])))
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.severity) == ("x", "non_numeric", "error")
    assert "must be numeric" in issue.message and "unit m" in issue.message
    summary = {c.name: c for c in report.columns}["x"]
    assert issue.message.endswith(f"its type is {summary.dtype}")


@pytest.mark.parametrize("lib", LIBRARIES)
def test_extra_columns_are_listed(theory: Theory, lib: str) -> None:
    report = theory.check_data(frame(lib, clean(notes=["n"] * 5, depth2=[1.0] * 5)))
    assert report.ok
    assert report.extra_columns == ("notes", "depth2")
    assert "columns not in the theory (ignored): notes, depth2" in str(report)


def test_duplicate_columns_are_refused(theory: Theory) -> None:
    data = pd.DataFrame([[1.0, 2.0]], columns=["x", "x"])
    with pytest.raises(DataError, match="duplicate column names"):
        theory.check_data(data)


@pytest.mark.parametrize("data", [[1, 2, 3], np.zeros((3, 2)), "x,T\n1,2"])
def test_non_dataframe_input_is_refused(theory: Theory, data: object) -> None:
    with pytest.raises(DataError) as err:
        theory.check_data(data)
    message = str(err.value)
    assert "pandas or polars DataFrame" in message
    assert f"got {type(data).__name__}" in message


def test_theory_must_be_a_theory() -> None:
    with pytest.raises(DataError, match="needs a Theory; got dict"):
        check_data({"x": [1.0]}, pd.DataFrame({"x": [1.0]}))


# -- values ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lib", LIBRARIES)
def test_nan_is_a_warning_with_row_positions(theory: Theory, lib: str) -> None:
    missing = None if lib == "polars" else math.nan
    report = theory.check_data(frame(lib, clean(x=[1.0, missing, 3.0, missing, 5.0])))
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.severity, issue.count) == ("x", "nan", "warning", 2)
    assert [r for r, _ in issue.examples] == [1, 3]
    assert all(math.isnan(v) for _, v in issue.examples)
    assert "2 missing (NaN) value(s)" in issue.message
    assert "e.g. row 1: nan, row 3: nan" in str(report)
    assert report.errors == () and not report.ok
    summary = {c.name: c for c in report.columns}["x"]
    assert (summary.count, summary.missing) == (3, 2)


def test_rows_are_positions_not_index_labels(theory: Theory) -> None:
    data = pd.DataFrame(clean(x=[1.0, 2.0, math.nan, 4.0, 50.0]), index=[10, 20, 30, 40, 50])
    report = theory.check_data(data)
    assert issues_of(report, "nan", "x")[0].examples[0][0] == 2
    assert issues_of(report, "out_of_bounds", "x")[0].examples == ((4, 50.0),)


def test_nullable_pandas_dtypes(theory: Theory) -> None:
    x = pd.array([1.0, None, 3.0, 4.0, 5.0], dtype="Float64")
    report = theory.check_data(pd.DataFrame(clean(x=x)))
    (issue,) = report.issues
    assert (issue.kind, issue.count, issue.examples[0][0]) == ("nan", 1, 1)
    ints = pd.array([1, 2, 3, 4, 5], dtype="Int64")
    assert theory.check_data(pd.DataFrame(clean(x=ints))).ok


@pytest.mark.parametrize("lib", LIBRARIES)
def test_inf_is_an_error(lib: str) -> None:
    t = Theory([Variable("x", "m"), Variable("y", role="target")])
    report = t.check_data(
        frame(lib, {"x": [1.0, math.inf, 2.0, -math.inf], "y": [1.0, 2.0, 3.0, 4.0]})
    )
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.severity, issue.count) == ("x", "inf", "error", 2)
    assert issue.examples == ((1, math.inf), (3, -math.inf))
    assert "2 infinite value(s)" in issue.message
    summary = report.columns[0]
    assert (summary.count, summary.minimum, summary.maximum) == (2, 1.0, 2.0)


def test_inf_is_not_also_counted_out_of_bounds(theory: Theory) -> None:
    # An infinite value is reported as "inf"; counting it again as out of bounds makes
    # the excess "by up to inf" and hides the real excess of the finite values.
    report = theory.check_data(pd.DataFrame(clean(x=[1.0, 12.0, 3.0, 4.0, math.inf])))
    assert len(issues_of(report, "inf", "x")) == 1
    (bounds,) = issues_of(report, "out_of_bounds", "x")
    assert bounds.count == 1
    assert "by up to 2" in bounds.message


@pytest.mark.parametrize("lib", LIBRARIES)
def test_out_of_bounds_counts_examples_and_excess(theory: Theory, lib: str) -> None:
    x = [12.0, 1.0, -3.0, 11.0, 10.5, 14.0, 2.0, 10.25, 20.0, 5.0]
    columns = {
        "site": ["a"] * 10,
        "time": [float(i) for i in range(10)],
        "x": x,
        "T": [4.0 + i for i in range(10)],
    }
    report = theory.check_data(frame(lib, columns))
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.severity, issue.count) == (
        "x",
        "out_of_bounds",
        "error",
        7,
    )
    assert issue.examples == ((0, 12.0), (2, -3.0), (3, 11.0), (4, 10.5), (5, 14.0))
    assert issue.message == "7 value(s) outside the physical bounds of 'x' [0, 10] (by up to 10)"
    assert "e.g. row 0: 12, row 2: -3, row 3: 11, row 4: 10.5, row 5: 14" in str(report)


def test_values_on_the_bounds_are_inside(theory: Theory) -> None:
    report = theory.check_data(
        pd.DataFrame(clean(x=[0.0, 10.0, 5.0, 0.0, 10.0], T=[0.0, 40.0, 4.0, 5.0, 6.0]))
    )
    assert issues_of(report, "out_of_bounds", "x") == []
    assert issues_of(report, "out_of_bounds", "T") == []


@pytest.mark.parametrize("lib", LIBRARIES)
def test_constant_column_is_a_warning(theory: Theory, lib: str) -> None:
    report = theory.check_data(frame(lib, clean(x=[2.0] * 5)))
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.severity, issue.count) == (
        "x",
        "constant",
        "warning",
        5,
    )
    assert "every value is 2" in issue.message
    one_row = theory.check_data(frame(lib, {k: v[:1] for k, v in clean().items()}))
    assert one_row.ok


# -- group and time columns -----------------------------------------------------------------
@pytest.mark.parametrize("lib", LIBRARIES)
def test_group_column_of_strings_is_accepted(theory: Theory, lib: str) -> None:
    report = theory.check_data(frame(lib, clean(site=["north", "north", "south", "east", "west"])))
    assert report.ok
    summary = report.columns[0]
    assert (summary.name, summary.role, summary.minimum, summary.maximum) == (
        "site",
        "group",
        None,
        None,
    )


@pytest.mark.parametrize("lib", LIBRARIES)
def test_missing_group_values_are_a_warning(theory: Theory, lib: str) -> None:
    report = theory.check_data(frame(lib, clean(site=["a", None, "b", "b", None])))
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.severity, issue.count) == ("site", "nan", "warning", 2)
    assert "group column" in issue.message


@pytest.mark.parametrize("lib", LIBRARIES)
def test_datetime_time_column_is_accepted(theory: Theory, lib: str) -> None:
    times = [dt.datetime(2020, 1, 1) + dt.timedelta(hours=h) for h in range(5)]
    data = frame(lib, clean(time=times))
    if lib == "pandas":
        assert str(data["time"].dtype).startswith("datetime64")
    report = theory.check_data(data)
    assert report.ok, str(report)
    assert report.columns[1].role == "time"


def test_time_column_of_strings_is_an_error(theory: Theory) -> None:
    report = theory.check_data(pd.DataFrame(clean(time=["t0", "t1", "t2", "t3", "t4"])))
    (issue,) = report.issues
    assert (issue.column, issue.kind) == ("time", "non_numeric")


# -- Bounds constraints ---------------------------------------------------------------------
@pytest.mark.parametrize("lib", LIBRARIES)
def test_bounds_on_a_relation_are_evaluated_from_the_data(theory: Theory, lib: str) -> None:
    report = theory.check_data(frame(lib, clean(T=[4.0, 30.0, 6.0, 25.0, 8.0])))
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.severity, issue.count) == (
        "density",
        "out_of_bounds",
        "error",
        2,
    )
    assert [r for r, _ in issue.examples] == [1, 3]
    expected = theory.expression_of("density").evaluate({"T": np.array([30.0, 25.0])})
    assert [v for _, v in issue.examples] == pytest.approx(list(expected))
    assert "outside the constraint 'fresh' [999, 1001]" in issue.message
    assert f"by up to {999.0 - min(expected):.4g}" in issue.message


def test_bounds_on_a_relation_is_skipped_without_its_columns(theory: Theory) -> None:
    columns = clean()
    del columns["T"]
    report = theory.check_data(pd.DataFrame(columns))
    assert [i.kind for i in report.issues] == ["missing_column"]


def test_bounds_on_a_relation_with_parameters() -> None:
    t = Theory(
        [Variable("x", "m"), Variable("y", role="target")],
        parameters=[Parameter("k", "1/m", value=2.0), Parameter("c", "1/m", bounds=(0, 1))],
        relations={"kx": "k*x", "cx": "c*x"},
        constraints=[Bounds("kx", upper=5.0), Bounds("cx", upper=0.0)],
    )
    report = t.check_data(pd.DataFrame({"x": [1.0, 3.0, 2.0], "y": [0.0, 1.0, 2.0]}))
    (issue,) = report.issues  # cx needs c, which has no value: skipped
    assert (issue.column, issue.count, issue.examples) == ("kx", 1, ((1, 6.0),))
    assert "'-inf <= kx <= 5'" in issue.message


def test_bounds_on_a_relation_of_parameters_only() -> None:
    # The relation does not depend on any column, so it evaluates to a scalar; a
    # violation must be reported, not crash with "array is 0-dimensional".
    t = Theory(
        [Variable("x"), Variable("y", role="target")],
        parameters=[Parameter("k", value=2.0)],
        relations={"twice_k": "2*k"},
        constraints=[Bounds("twice_k", upper=1.0)],
    )
    report = t.check_data(pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 3.0]}))
    assert [(i.column, i.kind) for i in report.issues] == [("twice_k", "out_of_bounds")]


def test_explicit_bounds_constraint_on_a_variable() -> None:
    t = Theory(
        [Variable("x", "m", bounds=(0, 10)), Variable("y", bounds=(0, 5), role="target")],
        constraints=[Bounds("x", upper=5.0, name="shallow"), Bounds("y")],
    )
    report = t.check_data(pd.DataFrame({"x": [1.0, 7.0, 3.0], "y": [0.0, 1.0, 2.0]}))
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.count) == ("x", "out_of_bounds", 1)
    assert "constraint 'shallow'" in issue.message and "by up to 2" in issue.message


# -- the report -----------------------------------------------------------------------------
def test_strict_raises_the_report_text(theory: Theory) -> None:
    data = pd.DataFrame(clean(x=[1.0, 12.0, math.nan, 4.0, 5.0]))
    report = theory.check_data(data)
    with pytest.raises(DataError) as err:
        theory.check_data(data, strict=True)
    assert str(err.value) == str(report)
    with pytest.raises(DataError):
        check_data(theory, pd.DataFrame(clean(x=[3.0] * 5)), strict=True)  # warnings count too


def test_report_views(theory: Theory) -> None:
    data = pd.DataFrame(clean(x=[1.0, 12.0, math.nan, 4.0, 5.0], T=[4.0, 30.0, 6.0, 7.0, 8.0]))
    report = theory.check_data(data)
    assert [(i.column, i.kind, i.severity) for i in report.issues] == [
        ("x", "nan", "warning"),
        ("x", "out_of_bounds", "error"),
        ("density", "out_of_bounds", "error"),
    ]
    assert [i.kind for i in report.errors] == ["out_of_bounds", "out_of_bounds"]
    text = str(report)
    assert "3 issue(s): 2 error(s), 1 warning(s)" in text
    assert "[warning] x: 1 missing (NaN) value(s)" in text

    issues = report.to_frame()
    assert list(issues.columns) == ["column", "kind", "severity", "count", "message"]
    assert issues["column"].tolist() == ["x", "x", "density"]
    assert issues["count"].tolist() == [1, 1, 1]

    summary = report.summary_frame()
    assert list(summary.columns) == [
        "name", "role", "unit", "dtype", "count", "missing", "minimum", "maximum", "bounds",
    ]  # fmt: skip
    row = summary.set_index("name").loc["x"]
    assert (row["role"], row["unit"], row["count"], row["missing"]) == ("input", "m", 4, 1)
    assert (row["minimum"], row["maximum"], row["bounds"]) == (1.0, 12.0, (0.0, 10.0))

    html = report._repr_html_()
    assert "<table>" in html and "<th>variable</th>" in html
    assert (
        "<td>x</td><td>input</td><td>m</td><td>4</td><td>1</td><td>1</td><td>12</td><td>[0, 10]</td>"
        in html
    )
    assert "<b>error</b> <code>density</code>" in html
    assert "outside the constraint &#x27;fresh&#x27;" in html


def test_report_views_without_issues(theory: Theory) -> None:
    report = theory.check_data(pd.DataFrame(clean()))
    frame_ = report.to_frame()
    assert list(frame_.columns) == ["column", "kind", "severity", "count", "message"]
    assert len(frame_) == 0
    assert len(report.summary_frame()) == 4
    assert "<li>No issues found.</li>" in report._repr_html_()


def test_html_escapes_constraint_labels() -> None:
    t = Theory(
        [Variable("x", "m"), Variable("y", role="target")],
        relations={"r": "2*x"},
        constraints=[Bounds("r", upper=1.0)],
    )
    html = t.check_data(pd.DataFrame({"x": [0.0, 1.0], "y": [1.0, 2.0]}))._repr_html_()
    assert "-inf &lt;= r &lt;= 1" in html
    assert "<= r" not in html


# -- messy data -----------------------------------------------------------------------------
@pytest.mark.parametrize("lib", LIBRARIES)
def test_zero_rows_is_an_error(theory: Theory, lib: str) -> None:
    report = theory.check_data(frame(lib, {k: v[:0] for k, v in clean().items()}))
    assert [(i.column, i.kind, i.severity) for i in report.issues] == [("", "no_rows", "error")]
    assert "[error] data: the data have no rows" in str(report)
    assert "<code>data</code>" in report._repr_html_()
    with pytest.raises(DataError, match="no rows"):
        theory.check_data(frame(lib, {k: v[:0] for k, v in clean().items()}), strict=True)


def test_header_without_rows_is_only_no_rows(theory: Theory, tmp_path: Path) -> None:
    # A CSV header alone reads as columns of type object: no values, so no type to blame.
    from tgds.datasets import read_table

    path = tmp_path / "empty.csv"
    path.write_text("site,time,x,T\n")
    report = theory.check_data(read_table(path))
    assert [i.kind for i in report.issues] == ["no_rows"]
    assert theory.check_data(pd.DataFrame(columns=["x"])).issues[0].kind == "no_rows"


@pytest.mark.parametrize("lib", LIBRARIES)
def test_column_without_any_value_is_missing_values(theory: Theory, lib: str) -> None:
    report = theory.check_data(frame(lib, clean(x=[None] * 5)))
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.count) == ("x", "nan", 5)


def test_inf_is_not_counted_again_by_bounds_constraints() -> None:
    t = Theory(
        [Variable("x", "m"), Variable("y", role="target")],
        relations={"r": "2*x"},
        constraints=[Bounds("x", upper=5.0, name="shallow"), Bounds("r", upper=100.0)],
    )
    report = t.check_data(pd.DataFrame({"x": [1.0, math.inf, 7.0], "y": [6.0, 1.0, 2.0]}))
    assert [(i.column, i.kind, i.count) for i in report.issues] == [
        ("x", "inf", 1),
        ("x", "out_of_bounds", 1),
    ]
    assert "by up to 2" in report.issues[1].message


@pytest.mark.parametrize("lib", LIBRARIES)
def test_nan_in_a_numeric_group_column_is_missing(lib: str) -> None:
    t = Theory([Variable("g", role="group"), Variable("x"), Variable("y", role="target")])
    data = frame(lib, {"g": [1.0, math.nan, 2.0], "x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0]})
    (issue,) = t.check_data(data).issues
    assert (issue.column, issue.kind, issue.count) == ("g", "nan", 1)


@pytest.mark.parametrize("lib", LIBRARIES)
def test_non_numeric_lists_the_values_that_are_not_numbers(theory: Theory, lib: str) -> None:
    report = theory.check_data(frame(lib, clean(x=["1", "abc", None, "4", "n/a"])))
    (issue,) = report.issues
    assert (issue.kind, issue.count, issue.examples) == ("non_numeric", 2, ((1, "abc"), (4, "n/a")))
    assert "e.g. row 1: 'abc', row 4: 'n/a'" in str(report)
    summary = {c.name: c for c in report.columns}["x"]
    assert (summary.count, summary.missing) == (4, 1)


def test_complex_column_is_not_numeric(theory: Theory) -> None:
    # Reading it as float would silently drop the imaginary parts.
    report = theory.check_data(pd.DataFrame(clean(x=np.array([1, 2, 3, 4, 5j]))))
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.count) == ("x", "non_numeric", 5)
    assert issue.examples[-1] == (4, 5j)


@pytest.mark.parametrize("lib", LIBRARIES)
def test_time_column_of_iso_date_strings_is_accepted(theory: Theory, lib: str) -> None:
    # What a CSV file holds: dates as text. The splitters read them as dates too.
    dates = ["2020-01-01", "2020-01-02T06:00", None, "2020-01-04", "2020-01-05T00:00+02:00"]
    report = theory.check_data(frame(lib, clean(time=dates)))
    (issue,) = report.issues
    assert (issue.column, issue.kind, issue.severity, issue.count) == ("time", "nan", "warning", 1)
    report = theory.check_data(frame(lib, clean(time=[*dates[:4], "soon"])))
    (issue,) = report.issues
    assert (issue.kind, issue.count, issue.examples) == ("non_numeric", 1, ((4, "soon"),))
    assert issue.message.startswith("column must be numeric or dates (unit s)")
    numbers = theory.check_data(frame(lib, clean(time=["0", "1", "2", "3", "4"])))
    assert [i.kind for i in numbers.issues] == ["non_numeric"]  # numbers as text are not dates


def test_time_column_of_date_objects_is_accepted(theory: Theory) -> None:
    # Both have dtype object in pandas: dates (not datetimes), and datetimes in several zones.
    days = [dt.date(2020, 1, d) for d in range(1, 6)]
    assert theory.check_data(pd.DataFrame(clean(time=days))).ok
    zones = [pd.Timestamp("2020-01-01", tz=z) for z in ("UTC", "Europe/Berlin", "Asia/Tokyo")]
    data = pd.DataFrame(clean(time=[*zones, None, dt.datetime(2020, 1, 2)]))
    assert data["time"].dtype == object
    assert [(i.kind, i.count) for i in theory.check_data(data).issues] == [("nan", 1)]


def test_missing_column_names_a_near_miss(theory: Theory) -> None:
    columns = clean()
    columns["t "] = columns.pop("T")
    (issue,) = theory.check_data(pd.DataFrame(columns)).issues
    assert issue.kind == "missing_column"
    assert issue.message.endswith("; the data have 't ', which differs only in case or spaces")
    columns["times"] = columns.pop("time")  # a similar name
    issues = {i.column: i for i in theory.check_data(pd.DataFrame(columns)).issues}
    assert issues["time"].message.endswith("; did you mean the data's column 'times'?")
    # a column of another of the theory's variables is never suggested
    columns = clean()
    columns.pop("time")
    (issue,) = theory.check_data(pd.DataFrame(columns)).issues
    assert issue.message.endswith("unit s)")


def test_dict_columns_must_be_one_dimensional(theory: Theory) -> None:
    for bad, shape in ((np.zeros((5, 2)), "(5, 2)"), (1.0, "()")):
        with pytest.raises(DataError, match=rf"column 'x' must be a 1-D array; got .*{shape}"):
            theory.check_data(clean(x=bad))
    with pytest.raises(DataError, match="column 'x' must be a 1-D array; got a ragged"):
        theory.check_data(clean(x=[[1.0, 2.0], [3.0]]))
    (issue,) = theory.check_data(clean(x=[1, None, 3, 4, 5])).issues  # None in a list is NaN
    assert (issue.kind, issue.count) == ("nan", 1)


def test_one_of_rule_with_an_array_value() -> None:
    from tgds._validation import InvalidParameterError, OneOf, validate_params

    class Estimator:
        direction = np.array(["high", "low"])

    with pytest.raises(InvalidParameterError, match="must be one of 'high', 'low'"):
        validate_params(Estimator(), {"direction": OneOf("high", "low")})


# -- repeated rows --------------------------------------------------------------------------
@pytest.mark.parametrize("lib", LIBRARIES)
def test_rows_repeated_in_every_theory_column_are_a_warning(theory: Theory, lib: str) -> None:
    columns = clean()
    columns = {k: v + [v[1], v[3], v[1]] for k, v in columns.items()}  # rows 5, 6, 7 repeat 1, 3, 1
    columns["x"][3] = columns["x"][6] = None  # NaN equals NaN here
    columns["id"] = list(range(8))  # a column outside the theory does not tell rows apart
    report = theory.check_data(frame(lib, columns))
    (issue,) = issues_of(report, "duplicate_rows")
    assert (issue.column, issue.severity, issue.count) == ("", "warning", 3)
    assert issue.examples == ((5, 1), (6, 3), (7, 1))
    assert "3 row(s) repeat an earlier row in every column of the theory (site, time, x, T)" in (
        issue.message
    )
    assert "e.g. row 5 = row 1, row 6 = row 3, row 7 = row 1" in str(report)
    one_differs = {k: v[:7] for k, v in columns.items()}
    one_differs["T"][6] = 9.0  # row 6 now differs from row 3 in the target
    (issue,) = issues_of(theory.check_data(frame(lib, one_differs)), "duplicate_rows")
    assert issue.examples == ((5, 1),)


def test_check_records_for_json_carry_example_rows(theory: Theory) -> None:
    import json

    data = pd.DataFrame(clean(x=[1.0, math.inf, 11.0, float("nan"), 5.0]))
    records = theory.check_data(data).to_records()
    assert [r["kind"] for r in records] == ["nan", "inf", "out_of_bounds"]
    assert records[0]["examples"] == [[3, "nan"]]
    assert records[1]["examples"] == [[1, "inf"]]
    assert records[2]["examples"] == [[2, 11.0]]
    json.loads(json.dumps(records, allow_nan=False))  # strict JSON: no NaN or Infinity


# -- real data ------------------------------------------------------------------------------
@pytest.mark.skipif(not LAKE_CSV.is_file(), reason=f"lake data not found at {LAKE_CSV}")
@pytest.mark.parametrize("lib", LIBRARIES)
def test_real_lake_data_has_no_issues(lib: str) -> None:
    lake = Theory.from_toml(EXAMPLES / "lake.toml")
    data = pd.read_csv(LAKE_CSV) if lib == "pandas" else pl.read_csv(LAKE_CSV)
    report = lake.check_data(data, strict=True)
    assert report.ok
    assert report.n_rows > 10_000
    assert len(report.columns) == len(lake.variables)
    assert set(report.extra_columns) <= {"Modeled_temp_tuned"}
