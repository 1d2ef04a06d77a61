"""Checking data against a theory: columns, types, missing and infinite values, physical bounds."""

from __future__ import annotations

import datetime as dt
import html
import math
import numbers
import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from tgds._validation import similar_name
from tgds.exceptions import DataError
from tgds.theory._constraints import Bounds
from tgds.theory._theory import Theory
from tgds.utils import as_frame

__all__ = ["check_data", "DataReport", "DataIssue", "ColumnSummary"]

_MAX_EXAMPLES = 5
_ISSUE_COLUMNS = ("column", "kind", "severity", "count", "message")  # of DataReport.to_frame


@dataclass(frozen=True)
class DataIssue:
    """One problem found in the data.

    ``kind`` is one of ``no_rows`` and ``duplicate_rows`` (with an empty ``column``: the
    data as a whole), ``missing_column``, ``non_numeric``, ``nan``, ``inf``,
    ``out_of_bounds``, ``constant``; ``severity`` is ``error`` or ``warning``;
    ``examples`` holds up to five ``(row position, value)`` pairs (for ``duplicate_rows``
    the value is the position of the earlier row it repeats), for ``data.iloc``;
    ``example_labels`` the same pairs with each row given by its index label, for
    ``data.loc`` (the positions again when the data are not a pandas frame or have the
    default index). The report's text and :meth:`DataReport.to_records` give labels.

    Examples
    --------
    >>> import pandas as pd
    >>> from tgds.theory import Theory, Variable
    >>> t = Theory([Variable("x", "m", bounds=(0, 1))])
    >>> data = pd.DataFrame({"x": [0.5, 2.0, 3.0]}, index=[17, 42, 56])
    >>> issue = check_data(t, data[data.x > 1]).issues[0]
    >>> issue.examples, issue.example_labels
    (((0, 2.0), (1, 3.0)), ((42, 2.0), (56, 3.0)))
    """

    column: str
    kind: str
    severity: str
    message: str
    count: int = 0
    examples: tuple[tuple[int, Any], ...] = ()
    example_labels: tuple[tuple[Hashable, Any], ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.example_labels is None:  # no index given: rows are named by position
            object.__setattr__(self, "example_labels", self.examples)


@dataclass(frozen=True)
class ColumnSummary:
    """What the data hold for one theory variable (or relation): a line of the data card."""

    name: str
    role: str
    unit: str
    dtype: str
    count: int
    missing: int
    minimum: float | None
    maximum: float | None
    bounds: tuple[float, float] | None


@dataclass(frozen=True)
class DataReport:
    """The result of :func:`check_data`. ``ok`` is true when no issue was found.

    Views: ``str(report)`` (text), ``report._repr_html_()`` (Jupyter), ``report.to_frame()``.
    """

    theory_name: str
    n_rows: int
    columns: tuple[ColumnSummary, ...]
    issues: tuple[DataIssue, ...]
    extra_columns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def errors(self) -> tuple[DataIssue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    def to_frame(self) -> pd.DataFrame:
        """One row per issue: column, kind, severity, count, message."""
        rows = [{k: getattr(i, k) for k in _ISSUE_COLUMNS} for i in self.issues]
        return pd.DataFrame(rows, columns=list(_ISSUE_COLUMNS))

    def to_records(self) -> list[dict[str, Any]]:
        """The issues as JSON-ready records (what ``tgds check --json`` prints): the columns
        of :meth:`to_frame` and ``examples``, a list of ``[row, value]`` pairs with the row's
        index label (:attr:`DataIssue.example_labels`; a label of a ``MultiIndex`` as a
        list, a date as its text). A value that is not a finite number, a string or a bool
        is given as its text (``"nan"``)."""
        return [
            {
                **{k: getattr(i, k) for k in _ISSUE_COLUMNS},
                "examples": [
                    [
                        _json_label(r),
                        _json_label(v) if i.kind == "duplicate_rows" else _json_value(v),
                    ]
                    for r, v in i.example_labels
                ],
            }
            for i in self.issues
        ]

    def summary_frame(self) -> pd.DataFrame:
        """The data card: one row per variable with role, unit, type, count, missing, range, bounds."""
        return pd.DataFrame([c.__dict__ for c in self.columns])

    def __str__(self) -> str:
        title = (
            f"Data check against theory {self.theory_name!r}" if self.theory_name else "Data check"
        )
        lines = [f"{title}: {self.n_rows} rows, {len(self.columns)} variables checked"]
        lines.append(
            f"  {'variable':<18} {'role':<7} {'unit':<10} {'count':>7} {'missing':>7} {'min':>10} {'max':>10}  bounds"
        )
        for c in self.columns:
            lo = "" if c.minimum is None else f"{c.minimum:.4g}"
            hi = "" if c.maximum is None else f"{c.maximum:.4g}"
            bounds = "" if c.bounds is None else f"[{c.bounds[0]:g}, {c.bounds[1]:g}]"
            lines.append(
                f"  {c.name:<18} {c.role:<7} {c.unit:<10} {c.count:>7} {c.missing:>7} {lo:>10} {hi:>10}  {bounds}"
            )
        if self.extra_columns:
            lines.append(f"  columns not in the theory (ignored): {', '.join(self.extra_columns)}")
        if self.ok:
            lines.append("No issues found.")
        else:
            n_err = len(self.errors)
            lines.append(
                f"{len(self.issues)} issue(s): {n_err} error(s), {len(self.issues) - n_err} warning(s)"
            )
            for i in self.issues:
                lines.append(f"  [{i.severity}] {i.column or 'data'}: {i.message}")
                if i.examples:
                    shown = ", ".join(
                        f"row {label_text(r)} = row {label_text(v)}"
                        if i.kind == "duplicate_rows"
                        else f"row {label_text(r)}: {_fmt(v)}"
                        for r, v in i.example_labels
                    )
                    lines.append(f"      e.g. {shown}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(
            f"<th>{h}</th>"
            for h in ("variable", "role", "unit", "count", "missing", "min", "max", "bounds")
        )
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(x))}</td>"
                for x in (
                    c.name,
                    c.role,
                    c.unit,
                    c.count,
                    c.missing,
                    "" if c.minimum is None else f"{c.minimum:.4g}",
                    "" if c.maximum is None else f"{c.maximum:.4g}",
                    "" if c.bounds is None else f"[{c.bounds[0]:g}, {c.bounds[1]:g}]",
                )
            )
            + "</tr>"
            for c in self.columns
        )
        issues = (
            "".join(
                f"<li><b>{html.escape(i.severity)}</b> <code>{html.escape(i.column or 'data')}</code>: {html.escape(i.message)}</li>"
                for i in self.issues
            )
            or "<li>No issues found.</li>"
        )
        return (
            f"<div class='tgds-report'><h4>Data check: {self.n_rows} rows</h4>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table><ul>{issues}</ul></div>"
        )


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | str) or (isinstance(value, int | float) and math.isfinite(value)):
        return value
    return _fmt(value) if isinstance(value, float) else str(value)


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float | np.floating) else repr(value)


def label_text(label: Hashable) -> str:
    """A row's index label as one would type it to look the row up with ``data.loc``.

    Examples
    --------
    >>> import pandas as pd
    >>> [label_text(x) for x in (17, "a", pd.Timestamp("2020-01-05"), ("a", 3))]
    ['17', "'a'", '2020-01-05', "('a', 3)"]
    """
    if isinstance(label, tuple):  # a MultiIndex label
        inner = ", ".join(label_text(x) for x in label)
        return f"({inner},)" if len(label) == 1 else f"({inner})"
    if isinstance(label, str):
        return repr(label)
    if isinstance(label, pd.Timestamp) and label.tz is None and label == label.normalize():
        return label.date().isoformat()  # a date, as a DatetimeIndex of dates shows it
    return str(_plain(label))


def has_default_index(index: pd.Index) -> bool:
    """Whether the labels of ``index`` are the positions 0, 1, ..., n - 1."""
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _json_label(label: Hashable) -> Any:
    """A row label for JSON: a number, string or bool as itself, a tuple as a list, else its text."""
    if isinstance(label, tuple):
        return [_json_label(x) for x in label]
    label = _plain(label)
    return _json_value(label) if isinstance(label, bool | str | int | float) else label_text(label)


def check_data(theory: Theory, data: Any, *, strict: bool = False) -> DataReport:
    """Check ``data`` against ``theory``.

    Finds data without rows, missing columns, non-numeric columns, NaN and infinite
    values, values outside the physical bounds of variables and of ``Bounds``
    constraints (on variables, and on relations that can be computed from the data),
    constant columns, and rows that repeat an earlier row in every column of the theory
    (a file read or appended twice; a warning, as repeated rows weigh double in a fit).
    Group columns may hold any type; time columns may be numeric or dates (a date type,
    date objects, or ISO 8601 strings as read from a CSV file). Example rows are named by
    the index labels of a pandas frame (so ``data.loc[row]`` finds them, in a filtered or
    date-indexed frame too) and by position otherwise; :class:`DataIssue` keeps both.

    Parameters
    ----------
    theory : Theory
    data : pandas.DataFrame or polars.DataFrame
        Column names are the theory's variable names.
    strict : bool
        Raise :class:`~tgds.exceptions.DataError` with the report's text if any issue is found.

    Examples
    --------
    >>> import pandas as pd
    >>> from tgds.theory import Theory, Variable
    >>> t = Theory([Variable("x", "m", bounds=(0, 1)), Variable("y", "s", role="target")])
    >>> report = check_data(t, pd.DataFrame({"x": [0.5, 2.0], "y": [1.0, float("nan")]}))
    >>> [(i.column, i.kind, i.count) for i in report.issues]
    [('x', 'out_of_bounds', 1), ('y', 'nan', 1)]
    """
    if not isinstance(theory, Theory):
        raise DataError(f"check_data needs a Theory; got {type(theory).__name__}.")
    frame = as_frame(data)
    index = data.index if isinstance(data, pd.DataFrame) else None
    issues: list[DataIssue] = []
    if frame.n_rows == 0:
        issues.append(DataIssue("", "no_rows", "error", "the data have no rows"))
    columns: list[ColumnSummary] = []
    numeric: dict[str, np.ndarray] = {}
    names = {v.name for v in theory.variables}
    for var in theory.variables:
        if var.name not in frame:
            issues.append(
                DataIssue(
                    var.name,
                    "missing_column",
                    "error",
                    f"column is missing (the theory's {var.role} variable, unit {var.unit})"
                    + _near_miss(var.name, [c for c in frame.columns if c not in names]),
                )
            )
            continue
        summary, found, values = _check_column(frame, var)
        columns.append(summary)
        issues.extend(found)
        if values is not None:  # infinities are reported once, as "inf", not again out of bounds
            numeric[var.name] = np.where(np.isinf(values), np.nan, values)
    issues.extend(_check_constraint_bounds(theory, numeric, frame.n_rows))
    issues.extend(_check_duplicates(frame, [c.name for c in columns]))
    if index is not None and not has_default_index(index):
        issues = [_with_labels(i, index) for i in issues]
    known = {v.name for v in theory.variables}
    report = DataReport(
        theory_name=theory.name,
        n_rows=frame.n_rows,
        columns=tuple(columns),
        issues=tuple(issues),
        extra_columns=tuple(c for c in frame.columns if c not in known),
    )
    if strict and not report.ok:
        raise DataError(str(report))
    return report


def _with_labels(issue: DataIssue, index: pd.Index) -> DataIssue:
    """``issue`` with its example rows (and, for repeated rows, the rows repeated) named
    by their labels in ``index``."""
    if not issue.examples:
        return issue
    rows = index.take([r for r, _ in issue.examples]).tolist()
    values = [v for _, v in issue.examples]
    if issue.kind == "duplicate_rows":
        values = index.take(values).tolist()
    return replace(issue, example_labels=tuple(zip(rows, values, strict=True)))


def _check_duplicates(frame: Any, names: list[str]) -> list[DataIssue]:
    """Rows equal to an earlier row in every one of the columns ``names`` (NaN equals NaN)."""
    if not names or frame.n_rows < 2:
        return []
    table = pd.DataFrame({n: frame.values(n) for n in names})
    try:
        first = table.groupby(names, dropna=False, sort=False).ngroup().to_numpy()
    except TypeError:  # unhashable or unorderable cells (lists in an object column)
        return []
    _, first_row = np.unique(first, return_index=True)
    earlier = first_row[first]  # the first row of each row's group
    rows = np.flatnonzero(earlier != np.arange(frame.n_rows))
    if not rows.size:
        return []
    message = (
        f"{rows.size} row(s) repeat an earlier row in every column of the theory "
        f"({', '.join(names)}); they weigh double in a fit"
    )
    examples = tuple((int(r), int(earlier[r])) for r in rows[:_MAX_EXAMPLES])
    return [DataIssue("", "duplicate_rows", "warning", message, int(rows.size), examples)]


def _near_miss(name: str, columns: list[str]) -> str:
    """A hint naming a data column (not one of the theory's) that ``name`` may have been
    meant to be: one that differs only in case or spaces, else the most similar name."""
    match = similar_name(name, columns)
    if match is None:
        return ""
    column, same_letters = match
    if same_letters:
        return f"; the data have {column!r}, which differs only in case or spaces"
    return f"; did you mean the data's column {column!r}?"


def _check_column(frame: Any, var: Any) -> tuple[ColumnSummary, list[DataIssue], np.ndarray | None]:
    name, issues = var.name, []
    dtype = frame.dtype(name)
    numeric, values = frame.is_numeric(name), None
    raw = None if numeric or var.role == "group" else frame.values(name)
    if raw is not None and raw.dtype.kind in "Of" and pd.isna(raw).all():
        # no value at all (a column of None, or a CSV header without rows): no type either
        numeric, raw, values = True, None, np.full(frame.n_rows, np.nan)
    # the rows that are neither missing nor numbers (nor dates, in a time column of dates)
    bad, dates = (None, False) if raw is None else _unreadable(raw, var.role == "time")
    if var.role == "group" or (
        var.role == "time" and (frame.is_temporal(name) or (dates and not bad.any()))
    ):
        missing = frame.null_count(name)
        if missing:
            issues.append(
                DataIssue(
                    name,
                    "nan",
                    "warning",
                    f"{missing} missing value(s) in a {var.role} column",
                    missing,
                )
            )
        return (
            ColumnSummary(
                name, var.role, var.unit, dtype, frame.n_rows - missing, missing, None, None, None
            ),
            issues,
            None,
        )
    if not numeric:
        rows = np.flatnonzero(bad)
        issues.append(
            DataIssue(
                name,
                "non_numeric",
                "error",
                f"column must be {'numeric or dates' if var.role == 'time' else 'numeric'} "
                f"(unit {var.unit}); its type is {dtype}",
                int(rows.size),
                tuple((int(r), _plain(raw[r])) for r in rows[:_MAX_EXAMPLES]),
            )
        )
        missing = frame.null_count(name)
        count = frame.n_rows - missing
        return (
            ColumnSummary(name, var.role, var.unit, dtype, count, missing, None, None, var.bounds),
            issues,
            None,
        )
    values = frame.numeric(name) if values is None else values
    nan = np.isnan(values)
    inf = np.isinf(values)
    finite = values[~nan & ~inf]
    if nan.any():
        issues.append(
            DataIssue(
                name,
                "nan",
                "warning",
                f"{int(nan.sum())} missing (NaN) value(s)",
                int(nan.sum()),
                _examples(np.flatnonzero(nan), values),
            )
        )
    if inf.any():
        issues.append(
            DataIssue(
                name,
                "inf",
                "error",
                f"{int(inf.sum())} infinite value(s)",
                int(inf.sum()),
                _examples(np.flatnonzero(inf), values),
            )
        )
    if var.bounds is not None:
        issues.extend(
            _bounds_issue(
                name, np.where(inf, np.nan, values), var.bounds, f"the physical bounds of {name!r}"
            )
        )
    if finite.size > 1 and np.all(finite == finite[0]):
        issues.append(
            DataIssue(
                name,
                "constant",
                "warning",
                f"every value is {finite[0]:g}: the column carries no information",
                finite.size,
            )
        )
    lo = float(finite.min()) if finite.size else None
    hi = float(finite.max()) if finite.size else None
    summary = ColumnSummary(
        name, var.role, var.unit, dtype, int(finite.size), int(nan.sum()), lo, hi, var.bounds
    )
    return summary, issues, values


def _unreadable(raw: np.ndarray, dates: bool) -> tuple[np.ndarray, bool]:
    """Which values of a non-numeric column are neither missing nor numbers, and whether
    the column was read as dates instead: ISO 8601 strings and date objects (tried if
    ``dates``, and taken if any value is one: then the unreadable values are the others)."""
    missing = np.asarray(pd.isna(raw), dtype=bool)
    if raw.dtype != object:
        return ~missing, False  # dates, durations, ...: no value is a number
    s = pd.Series(raw, dtype=object)
    if dates:
        datelike = s.map(lambda v: isinstance(v, str | dt.date)).to_numpy(dtype=bool)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            read = pd.to_datetime(s.where(datelike), format="ISO8601", utc=True, errors="coerce")
        if read.notna().any():
            return ~missing & read.isna().to_numpy(), True
    readable = s.map(lambda v: isinstance(v, str | numbers.Number)).to_numpy(dtype=bool)
    read = pd.to_numeric(s.where(readable), errors="coerce")
    return ~missing & read.isna().to_numpy(), False


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (so that it prints as 2j, not np.complex128(2j))."""
    return value.item() if isinstance(value, np.generic) else value


def _examples(rows: np.ndarray, values: np.ndarray) -> tuple[tuple[int, Any], ...]:
    return tuple((int(r), float(values[r])) for r in rows[:_MAX_EXAMPLES])


def _bounds_issue(
    name: str, values: np.ndarray, bounds: tuple[float, float], what: str
) -> list[DataIssue]:
    lo, hi = bounds
    with np.errstate(invalid="ignore"):
        outside = (values < lo) | (values > hi)
    n = int(outside.sum())
    if not n:
        return []
    rows = np.flatnonzero(outside)
    worst = float(np.max(np.maximum(lo - values[rows], values[rows] - hi)))
    message = f"{n} value(s) outside {what} [{lo:g}, {hi:g}] (by up to {worst:.4g})"
    return [DataIssue(name, "out_of_bounds", "error", message, n, _examples(rows, values))]


def _check_constraint_bounds(
    theory: Theory, numeric: dict[str, np.ndarray], n_rows: int
) -> list[DataIssue]:
    """Bounds constraints with explicit limits, on variables and on computable relations."""
    issues = []
    params = theory.parameter_values()
    for c in theory.constraints:
        if not isinstance(c, Bounds) or (c.lower is None and c.upper is None):
            continue
        limits = (
            -math.inf if c.lower is None else c.lower,
            math.inf if c.upper is None else c.upper,
        )
        if c.quantity in numeric:
            values = numeric[c.quantity]
        elif c.quantity in {r.name for r in theory.relations}:
            expr = theory.expression_of(c.quantity)
            needed = {s.name for s in expr.sympy.free_symbols}
            if not needed <= set(numeric) | set(params):
                continue  # the relation needs a column the data do not have (e.g. a prediction)
            with np.errstate(all="ignore"):
                values = np.broadcast_to(
                    np.asarray(expr.evaluate({**params, **numeric}), dtype=float), (n_rows,)
                )
        else:
            continue
        issues.extend(_bounds_issue(c.quantity, values, limits, f"the constraint '{c.label}'"))
    return issues
