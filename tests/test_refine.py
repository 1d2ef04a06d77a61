"""Auditing models against a theory, repairing their predictions, and the ConsistentRegressor.

- :func:`tgds.refine.audit` is run on analytic callables whose violations are known
  exactly, one test per kind of constraint, and on the Lake Mendota reference data
  (49 density inversions in 12881 pairs for the General Lake Model's temperatures);
- the repairs (:class:`ProjectToBounds`, :class:`IsotonicProjection`,
  :class:`ConservationProjection`) must satisfy their constraint exactly and be
  idempotent, on hand-made and on random (hypothesis) data;
- :class:`ConsistentRegressor` wraps scikit-learn pipelines, repairs or rejects;
- bad input is refused with messages that name the problem.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.isotonic import isotonic_regression
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeRegressor

from tgds.exceptions import DataError, TheoryError
from tgds.refine import (
    ConservationProjection,
    ConsistencyReport,
    ConsistentRegressor,
    ConstraintResult,
    IsotonicProjection,
    ProjectToBounds,
    RepairContext,
    audit,
    default_repairs,
)
from tgds.theory import (
    Bounds,
    Equation,
    Interactions,
    Invariance,
    Monotonic,
    Parameter,
    Permutation,
    Reflection,
    Relation,
    Rotation,
    Scaling,
    Shape,
    Theory,
    Translation,
    Variable,
)

ROOT = Path(__file__).resolve().parents[1]
LAKE_TOML = ROOT / "examples" / "lake.toml"
LAKE_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lake"
LAKE_TABLE = LAKE_DATA / "mendota_pgnn_table.csv"

# x = -1, -0.98, ..., 1 exactly symmetric, with x = 0 at row 50
GRID = np.arange(-50, 51) / 50.0


def _one_input(*constraints, y_bounds=None, relations=()):
    """A theory with the input x and the target y."""
    return Theory(
        [Variable("x"), Variable("y", bounds=y_bounds, role="target")],
        relations=relations,
        constraints=constraints,
    )


def _frame(x):
    return pd.DataFrame({"x": np.asarray(x, dtype=float)})


def _x(X):
    return X["x"].to_numpy(dtype=float)


def _rows(result):
    """The first row of each violation, as a set."""
    return {rows[0] for rows, _ in result.violations}


# -- audit: bounds ------------------------------------------------------------------------
def test_bounds_counts_exactly_the_points_above_the_upper_limit_with_their_excess():
    x = np.arange(11) / 10.0  # 0, 0.1, ..., 1.0
    theory = _one_input(Bounds("y", upper=0.25, name="cap"))
    result = audit(_x, theory, _frame(x))["cap"]
    assert isinstance(result, ConstraintResult)
    assert (result.kind, result.n_checks, result.n_violations) == ("bounds", 11, 8)
    assert result.rate == 8 / 11
    # every violation, largest first: rows 10, 9, ..., 3 with excess x - 0.25
    assert [rows for rows, _ in result.violations] == [(i,) for i in range(10, 2, -1)]
    assert [size for _, size in result.violations] == [x[i] - 0.25 for i in range(10, 2, -1)]
    assert result.worst == result.violations[:5]
    assert result.max_violation == 0.75
    assert result.mean_violation == pytest.approx(np.mean(x[3:] - 0.25), rel=1e-15)


def test_bounds_without_limits_use_the_variable_bounds_on_both_sides():
    x = np.arange(11) / 10.0
    theory = _one_input(Bounds("y", name="unit"), y_bounds=(0, 1))
    result = audit(lambda X: 2 * _x(X) - 0.5, theory, _frame(x))["unit"]
    # y = 2x - 0.5 < 0 for x < 0.25 (rows 0-2), > 1 for x > 0.75 (rows 8-10)
    assert result.n_violations == 6
    assert _rows(result) == {0, 1, 2, 8, 9, 10}
    assert result.max_violation == pytest.approx(0.5, abs=1e-15)  # rows 0 and 10
    assert sorted(size for _, size in result.violations) == pytest.approx(
        [0.1, 0.1, 0.3, 0.3, 0.5, 0.5], abs=1e-12
    )


def test_bounds_on_a_relation_of_the_target():
    x = np.arange(11) / 10.0
    theory = _one_input(
        Bounds("twice", upper=1.0, name="twice_cap"), relations=[Relation("twice", "2*y")]
    )
    result = audit(_x, theory, _frame(x))["twice_cap"]
    assert result.n_violations == 5  # 2x > 1 for x = 0.6 ... 1.0
    assert _rows(result) == {6, 7, 8, 9, 10}
    assert result.max_violation == pytest.approx(1.0, abs=1e-15)
    assert result.mean_violation == pytest.approx(0.6, abs=1e-12)  # mean of 0.2 ... 1.0


def test_non_finite_predictions_violate_bounds_with_infinite_size():
    theory = _one_input(Bounds("y", lower=-10.0, upper=10.0, name="finite"))
    pred = np.array([0.0, np.nan, np.inf, -np.inf, 1.0])
    result = audit(lambda X: pred, theory, _frame(np.arange(5)))["finite"]
    assert result.n_violations == 3
    assert _rows(result) == {1, 2, 3}
    assert result.max_violation == math.inf


# -- audit: monotonic within groups (pairs) ---------------------------------------------------
def _profiles():
    """Two groups with known pairs; rows shuffled; ``q`` is the model's output per row."""
    rows = [
        # group p: z 0..4, q falls from z=1 to z=2 and from z=3 to z=4 (by 0.5 each)
        *[("p", z, q) for z, q in zip([0, 1, 2, 3, 4], [0, 1, 0.5, 2, 1.5], strict=True)],
        # group r: q falls by 1 at each of its two steps
        *[("r", z, q) for z, q in zip([5, 10, 20], [3, 2, 1], strict=True)],
    ]
    df = pd.DataFrame(rows, columns=["g", "z", "q"])
    df["key"] = df["g"] + df["z"].astype(str) + "_" + df["q"].astype(str)
    return df.sample(frac=1.0, random_state=3).reset_index(drop=True)


def _pair_theory(direction="increasing", within=("g",)):
    return Theory(
        [Variable("z"), Variable("g", role="group"), Variable("q", role="target")],
        constraints=[Monotonic("q", wrt="z", direction=direction, within=within, name="mono")],
    )


def _keys(df, result):
    return [tuple(df["key"][list(rows)]) for rows, _ in result.violations]


def test_monotonic_within_groups_finds_exactly_the_decreasing_consecutive_pairs():
    df = _profiles()
    result = audit(lambda X: df["q"].to_numpy(), _pair_theory(), df[["z", "g"]])["mono"]
    assert (result.n_checks, result.n_violations) == (6, 4)  # p: 4 pairs, r: 2 pairs
    assert _keys(df, result)[:2] in (
        [("r5_3.0", "r10_2.0"), ("r10_2.0", "r20_1.0")],
        [("r10_2.0", "r20_1.0"), ("r5_3.0", "r10_2.0")],
    )
    assert set(_keys(df, result)[2:]) == {("p1_1.0", "p2_0.5"), ("p3_2.0", "p4_1.5")}
    assert [size for _, size in result.violations] == [1.0, 1.0, 0.5, 0.5]
    assert (result.mean_violation, result.max_violation) == (0.75, 1.0)
    assert "6 consecutive pairs along z within g" in result.note


def test_monotonic_decreasing_flags_the_rising_pairs():
    df = _profiles()
    result = audit(lambda X: df["q"].to_numpy(), _pair_theory("decreasing"), df[["z", "g"]])["mono"]
    assert (result.n_checks, result.n_violations) == (6, 2)
    assert _keys(df, result) == [("p2_0.5", "p3_2.0"), ("p0_0.0", "p1_1.0")]
    assert [size for _, size in result.violations] == [1.5, 1.0]


def test_monotonic_within_two_group_columns_pairs_rows_of_the_same_combination():
    X = pd.DataFrame(
        {
            "z": [0.0, 1.0, 0.0, 1.0, 0.0, 1.0],
            "site": ["a", "a", "a", "a", "b", "b"],
            "year": [1, 1, 2, 2, 1, 1],
        }
    )
    q = np.array([0.0, 1.0, 5.0, 4.0, 2.0, 3.0])  # only (site a, year 2) falls
    theory = Theory(
        [
            Variable("z"),
            Variable("site", role="group"),
            Variable("year", role="group"),
            Variable("q", role="target"),
        ],
        constraints=[Monotonic("q", wrt="z", within=("site", "year"), name="mono")],
    )
    result = audit(lambda X: q, theory, X)["mono"]
    assert (result.n_checks, result.n_violations) == (3, 1)
    assert result.violations == (((2, 3), 1.0),)


def test_monotonic_rows_with_equal_wrt_are_not_compared_with_each_other():
    X = pd.DataFrame({"z": [0.0, 1.0, 1.0, 2.0], "g": "s"})
    for q in ([0.0, 3.0, 2.0, 4.0], [0.0, 2.0, 3.0, 4.0]):  # 3 and 2 both at z = 1
        result = audit(lambda X, q=q: np.array(q), _pair_theory(), X)["mono"]
        assert result.n_violations == 0


def test_monotonic_pair_audit_does_not_depend_on_row_order_when_wrt_values_tie():
    # one group: q = 0 at z = 0, then 5 and -5 at z = 1, then 10 at z = 2; the value -5
    # at z = 1 lies below the value 0 at z = 0, whatever order the rows come in.
    base = pd.DataFrame({"z": [0.0, 1.0, 1.0, 2.0], "g": "a", "q": [0.0, 5.0, -5.0, 10.0]})
    swapped = base.iloc[[0, 2, 1, 3]].reset_index(drop=True)
    counts = [
        audit(lambda X, d=d: d["q"].to_numpy(), _pair_theory(), d[["z", "g"]])["mono"].n_violations
        for d in (base, swapped)
    ]
    assert counts[0] == counts[1], f"violations found depend on the row order: {counts}"
    assert min(counts) >= 1


# -- audit: monotonic and shape by finite differences ---------------------------------------
def test_monotonic_without_groups_square_falls_exactly_for_negative_x():
    X = _frame(GRID)
    up = audit(lambda X: _x(X) ** 2, _one_input(Monotonic("y", wrt="x", name="m")), X)["m"]
    assert (up.n_checks, up.n_violations) == (101, 50)
    assert _rows(up) == set(range(50))  # x = -1 ... -0.02
    assert "forward difference along x" in up.note
    down = audit(
        lambda X: _x(X) ** 2,
        _one_input(Monotonic("y", wrt="x", direction="decreasing", name="m")),
        X,
    )["m"]
    assert down.n_violations == 51  # x = 0 ... 1: the forward difference at 0 is positive
    assert _rows(down) == set(range(50, 101))
    # sizes are the slopes 2x (+ h) of the wrong sign: the largest at x = -1 for "increasing"
    assert up.violations[0][0] == (0,)
    assert up.max_violation == pytest.approx(2.0, rel=1e-3)


def test_audit_with_given_predictions_does_not_predict_x_again():
    X = _frame(GRID)
    theory = _one_input(Monotonic("y", wrt="x", name="m"), Bounds("y", upper=0.5, name="cap"))
    seen = []

    def square(Z):
        seen.append(len(Z))
        return _x(Z) ** 2

    plain = audit(square, theory, X)
    calls = len(seen)
    given = audit(square, theory, X, predictions=_x(X) ** 2)
    assert len(seen) - calls == calls - 1  # only the unperturbed frame is skipped
    assert [(r.n_checks, r.n_violations, r.max_violation) for r in given.results] == [
        (r.n_checks, r.n_violations, r.max_violation) for r in plain.results
    ]
    with pytest.raises(DataError, match=r"shape \(3,\); expected \(101,\)"):
        audit(square, theory, X, predictions=[1.0, 2.0, 3.0])


def test_shape_of_a_cubic_is_convex_only_for_positive_x():
    X = _frame(GRID)
    convex = audit(lambda X: _x(X) ** 3, _one_input(Shape("y", wrt="x", name="s")), X)["s"]
    assert (convex.n_checks, convex.n_violations) == (101, 50)
    assert _rows(convex) == set(range(50))  # x < 0; x = 0 has second difference 0
    assert convex.max_violation == pytest.approx(6.0, rel=1e-6)  # |6x| at x = -1
    concave = audit(
        lambda X: _x(X) ** 3, _one_input(Shape("y", wrt="x", curvature="concave", name="s")), X
    )["s"]
    assert concave.n_violations == 50
    assert _rows(concave) == set(range(51, 101))


def test_shape_of_a_parabola():
    X = _frame(GRID)
    convex = audit(lambda X: _x(X) ** 2, _one_input(Shape("y", wrt="x", name="s")), X)["s"]
    assert convex.n_violations == 0
    concave = audit(
        lambda X: _x(X) ** 2, _one_input(Shape("y", wrt="x", curvature="concave", name="s")), X
    )["s"]
    assert concave.n_violations == 101
    assert concave.mean_violation == pytest.approx(2.0, rel=1e-4)


# -- audit: equations ------------------------------------------------------------------------------
def _budget_theory(*equations):
    return Theory(
        [
            Variable("total"),
            Variable("a", role="target"),
            Variable("b", role="target"),
            Variable("c", role="target"),
        ],
        constraints=[Equation(e, name=f"eq{i}") for i, e in enumerate(equations)],
    )


def test_algebraic_equation_is_violated_on_exactly_the_perturbed_rows():
    rng = np.random.default_rng(0)
    n = 40
    parts = rng.integers(1, 64, size=(n, 3)) / 8.0  # dyadic: sums are exact
    X = pd.DataFrame({"total": parts.sum(axis=1)})
    bad = np.array([3, 17, 18, 33])
    pred = parts.copy()
    pred[bad, 2] += np.array([0.5, -1.0, 2.0, 0.25])
    result = audit(lambda X: pred, _budget_theory("a + b + c == total"), X)["eq0"]
    assert (result.n_checks, result.n_violations) == (n, 4)
    assert _rows(result) == set(bad.tolist())
    # relative residual: |a + b + c - total| / rms(a, b, c, total)
    rms = np.sqrt((pred**2).sum(axis=1) + X["total"] ** 2) / 2.0
    expected = np.abs(pred.sum(axis=1) - X["total"]) / rms
    sizes = dict((rows[0], size) for rows, size in result.violations)
    assert [sizes[i] for i in bad] == pytest.approx(expected[bad].tolist(), rel=1e-12)
    assert result.max_violation == pytest.approx(expected.max(), rel=1e-12)


def _wave_theory():
    return Theory(
        [Variable("x", "m"), Variable("t", "s"), Variable("u", role="target")],
        parameters=[Parameter("c", "m/s", value=0.5)],
        constraints=[Equation("D(u, t) + c*D(u, x) == 0", name="advection")],
    )


def _wave_points():
    # phases x - c t (and x - 2 c t) stay in [0.2, 1.3]: far from zeros of the cosine
    rng = np.random.default_rng(1)
    t = rng.uniform(0.0, 1.0, 60)
    x = rng.uniform(0.2, 0.3, 60) + 1.0 * t
    return pd.DataFrame({"x": x, "t": t})


def test_advection_equation_holds_for_a_travelling_wave():
    X = _wave_points()
    result = audit(lambda X: np.sin(X["x"] - 0.5 * X["t"]), _wave_theory(), X)["advection"]
    assert (result.n_checks, result.n_violations) == (60, 0)
    assert "finite differences" in result.note


def test_advection_equation_fails_on_every_row_for_the_wrong_speed():
    X = _wave_points()
    result = audit(lambda X: np.sin(X["x"] - 1.0 * X["t"]), _wave_theory(), X)["advection"]
    assert result.n_violations == 60
    # residual -c cos, terms -2c cos and c cos: relative size 1 / sqrt(2.5) on every row
    assert result.mean_violation == pytest.approx(1 / math.sqrt(2.5), rel=1e-5)
    assert result.max_violation == pytest.approx(1 / math.sqrt(2.5), rel=1e-5)


# -- audit: invariances ------------------------------------------------------------------------
def _invariance_theory(transform, output_scale=1.0, names=("x",), unit="1"):
    return Theory(
        [*(Variable(n, unit) for n in names), Variable("y", role="target")],
        constraints=[Invariance(transform, output_scale=output_scale, name="inv")],
    )


def test_reflection_with_output_scale_minus_one_accepts_odd_and_rejects_even_functions():
    X = _frame(np.linspace(-1, 1, 41))
    theory = _invariance_theory(Reflection("x"), output_scale=-1.0)
    assert audit(lambda X: np.sin(_x(X)), theory, X)["inv"].n_violations == 0
    even = audit(lambda X: np.cos(_x(X)), theory, X)["inv"]
    assert (even.n_checks, even.n_violations) == (41, 41)
    # |cos(-x) + cos(x)| / std(cos x)
    q = np.cos(np.linspace(-1, 1, 41))
    assert even.max_violation == pytest.approx(2 * q.max() / q.std(), rel=1e-12)
    about = _invariance_theory(Reflection("x", about=0.5))  # symmetric about x = 0.5
    assert audit(lambda X: (_x(X) - 0.5) ** 2, about, X)["inv"].n_violations == 0


def test_translation_invariance_of_a_periodic_function():
    X = _frame(GRID)
    theory = _invariance_theory(Translation(("x",), (1.0,)))
    assert audit(lambda X: np.sin(2 * np.pi * _x(X)), theory, X)["inv"].n_violations == 0
    result = audit(lambda X: _x(X) ** 2, theory, X)["inv"]
    # (x + 1)^2 = x^2 only at x = -0.5 (row 25)
    assert result.n_violations == 100
    assert _rows(result) == set(range(101)) - {25}


def test_permutation_invariance_uses_both_generators():
    values = np.array([0.5, 1.0, 2.0])
    a, b, c = (m.ravel() for m in np.meshgrid(values, values, values, indexing="ij"))
    X = pd.DataFrame({"a": a, "b": b, "c": c})
    theory = _invariance_theory(Permutation(("a", "b", "c")), names=("a", "b", "c"), unit="m")
    symmetric = audit(lambda X: X["a"] * X["b"] * X["c"] + X["a"] + X["b"] + X["c"], theory, X)
    assert symmetric["inv"].n_violations == 0
    # a*b + c is symmetric in (a, b) but not under the second generator, which swaps b
    # and c (an odd permutation, so that output_scale=-1 means antisymmetry):
    # a*c + b - (a*b + c) = (a - 1)(c - b) vanishes only where a = 1 or b = c
    partial = audit(lambda X: X["a"] * X["b"] + X["c"], theory, X)["inv"]
    fine = (a == 1.0) | (b == c)
    assert partial.n_checks == 27
    assert partial.n_violations == int((~fine).sum()) == 12
    assert _rows(partial) == set(np.flatnonzero(~fine).tolist())


def test_permutation_of_two_variables():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.uniform(0, 1, 30), "b": rng.uniform(0, 1, 30)})
    X.loc[:4, "b"] = X.loc[:4, "a"]  # a = b on rows 0-4
    theory = _invariance_theory(Permutation(("a", "b")), names=("a", "b"), unit="m")
    assert audit(lambda X: np.hypot(X["a"], X["b"]), theory, X)["inv"].n_violations == 0
    result = audit(lambda X: X["a"] - X["b"], theory, X)["inv"]
    assert result.n_violations == 25
    assert _rows(result) == set(range(5, 30))


def test_rotation_invariance():
    v = np.arange(-2, 3, dtype=float)
    x, y = (m.ravel() for m in np.meshgrid(v, v, indexing="ij"))
    X = pd.DataFrame({"x": x, "z": y})
    theory = _invariance_theory(Rotation(("x", "z"), math.pi / 2), names=("x", "z"), unit="m")
    radial = audit(lambda X: X["x"] ** 2 + X["z"] ** 2, theory, X)["inv"]
    assert (radial.n_checks, radial.n_violations) == (25, 0)
    # f = x: rotated by 90 degrees, x -> -z; -z = x only on the diagonal z = -x
    linear = audit(lambda X: X["x"], theory, X)["inv"]
    assert linear.n_violations == 20
    assert _rows(linear) == set(np.flatnonzero(y != -x).tolist())


def test_scaling_homogeneity_of_degree_two():
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"a": rng.uniform(1, 2, 20), "b": rng.uniform(1, 2, 20)})
    degree_two = _invariance_theory(Scaling(("a", "b"), 2.0), 4.0, ("a", "b"))
    assert audit(lambda X: X["a"] * X["b"], degree_two, X)["inv"].n_violations == 0
    assert audit(lambda X: X["a"] + X["b"], degree_two, X)["inv"].n_violations == 20


# -- audit: interactions -------------------------------------------------------------------------
def _interaction_theory(groups):
    return Theory(
        [Variable("a"), Variable("b"), Variable("y", role="target")],
        constraints=[Interactions(groups, name="ix")],
    )


@pytest.fixture
def ab_frame():
    rng = np.random.default_rng(5)
    return pd.DataFrame({"a": rng.uniform(1, 2, 50), "b": rng.uniform(1, 2, 50)})


def test_interactions_additive_models_pass(ab_frame):
    theory = _interaction_theory([["a"], ["b"]])
    for f in (lambda X: X["a"] + X["b"], lambda X: np.sin(3 * X["a"]) + X["b"] ** 2):
        result = audit(f, theory, ab_frame)["ix"]
        assert (result.n_checks, result.n_violations) == (50, 0)


def test_interactions_product_violates_on_every_row(ab_frame):
    theory = _interaction_theory([["a"], ["b"]])
    result = audit(lambda X: X["a"] * X["b"], theory, ab_frame)["ix"]
    assert (result.n_checks, result.n_violations) == (50, 50)


def test_interactions_strong_coupling_is_found_at_the_default_step(ab_frame):
    theory = _interaction_theory([["a"], ["b"]])
    result = audit(lambda X: np.exp(3 * X["a"] * X["b"]), theory, ab_frame)["ix"]
    assert result.n_violations == 50


def test_interactions_within_one_group_check_nothing(ab_frame):
    result = audit(lambda X: X["a"] * X["b"], _interaction_theory([["a", "b"]]), ab_frame)["ix"]
    assert (result.n_checks, result.n_violations, result.rate) == (0, 0, 0.0)
    assert result.note == "every pair of inputs may interact"


# -- the report ------------------------------------------------------------------------------------
def test_report_score_rmse_and_rendering():
    x = np.arange(11) / 10.0
    theory = _one_input(
        Bounds("y", upper=0.5),  # violated by x = 0.6 ... 1 (5 of 11)
        Monotonic("y", wrt="x", name="rising"),  # holds
        Shape("y", wrt="x", curvature="concave", name="bent"),  # y = x: no curvature
    )
    y_obs = x + np.where(x > 0.5, 0.1, -0.2)
    report = audit(_x, theory, _frame(x), y_obs)
    assert isinstance(report, ConsistencyReport)
    assert [r.label for r in report.results] == ["-inf <= y <= 0.5", "rising", "bent"]
    assert report.score == pytest.approx(((1 - 5 / 11) + 1 + 1) / 3, rel=1e-15)
    assert report.n_violations == 5
    assert report.rmse == pytest.approx(math.sqrt((5 * 0.01 + 6 * 0.04) / 11), rel=1e-12)
    frame = report.to_frame()
    assert list(frame.columns) == [
        "kind",
        "constraint",
        "checks",
        "violations",
        "rate",
        "mean_violation",
        "max_violation",
    ]
    assert frame["violations"].tolist() == [5, 0, 0]
    assert frame["checks"].tolist() == [11, 11, 11]
    text = str(report)
    assert "Consistency audit of 11 rows" in text
    assert "5 of 11 checks violated (45.45%)" in text
    assert "worst: rows 10: 0.5; rows 9: 0.4" in text
    html = report._repr_html_()
    assert "&lt;= y &lt;= 0.5" in html and "<= y <=" not in html
    assert report["rising"].n_violations == 0
    with pytest.raises(KeyError, match="audited: .*'rising'"):
        report["falling"]


def test_score_ignores_constraints_without_checks_and_rmse_needs_y(ab_frame):
    theory = Theory(
        [Variable("a"), Variable("b"), Variable("y", role="target")],
        constraints=[Interactions([["a", "b"]], name="ix"), Bounds("y", upper=3.0, name="cap")],
    )
    report = audit(lambda X: X["a"] + X["b"], theory, ab_frame)  # a + b > 3 on some rows
    over = int(((ab_frame["a"] + ab_frame["b"]) > 3).sum())
    assert 0 < over < 50
    assert report.score == pytest.approx(1 - over / 50, rel=1e-15)  # ix (0 checks) not counted
    assert report.rmse is None


def test_constraints_and_targets_select_what_is_audited():
    theory = Theory(
        [Variable("x"), Variable("u", role="target"), Variable("v", role="target")],
        constraints=[
            Bounds("u", upper=0.5, name="u_cap"),
            Bounds("v", upper=0.5, name="v_cap"),
            Monotonic("u", wrt="x", name="u_up"),
        ],
    )
    X = _frame(np.arange(11) / 10.0)
    both = audit(lambda X: np.column_stack([_x(X), 1 - _x(X)]), theory, X)
    assert [r.n_violations for r in both.results] == [5, 5, 0]
    chosen = audit(
        lambda X: np.column_stack([_x(X), 1 - _x(X)]), theory, X, constraints=["u_up", "v_cap"]
    )
    assert [r.label for r in chosen.results] == ["u_up", "v_cap"]
    only_v = audit(lambda X: 1 - _x(X), theory, X, targets=["v"], constraints=["v_cap"])
    assert only_v["v_cap"].n_violations == 5
    assert _rows(only_v["v_cap"]) == {0, 1, 2, 3, 4}
    y = np.column_stack([_x(X), 1 - _x(X)]) + 0.5
    assert audit(lambda X: y - 0.5, theory, X, y).rmse == pytest.approx(0.5, rel=1e-15)


def test_audit_accepts_fitted_estimators_and_a_non_default_index():
    X = pd.DataFrame({"x": np.arange(11) / 10.0}, index=np.arange(100, 111))
    model = LinearRegression().fit(X, 2 * X["x"])
    result = audit(model, _one_input(Bounds("y", upper=1.05, name="cap")), X)["cap"]
    assert result.n_violations == 5
    assert _rows(result) == {6, 7, 8, 9, 10}  # positions, not index labels


# -- the Lake Mendota reference ------------------------------------------------------------------
@pytest.fixture(scope="module")
def lake():
    if not LAKE_TABLE.exists():
        pytest.skip(f"reference data not available: {LAKE_TABLE} does not exist")
    return Theory.from_toml(LAKE_TOML), pd.read_csv(LAKE_TABLE)


def test_lake_reference_figure_for_the_general_lake_model(lake):
    theory, table = lake
    report = audit(lambda X: X["Modeled_temp"], theory, table, table["Observed_temp"])
    density = report["density_increases_with_depth"]
    assert (density.n_checks, density.n_violations) == (12881, 49)
    assert f"{100 * density.rate:.2f}%" == "0.38%"
    assert report["liquid_water"].n_violations == 0
    assert report.rmse == pytest.approx(
        np.sqrt(np.mean((table["Modeled_temp"] - table["Observed_temp"]) ** 2)), rel=1e-12
    )


def test_lake_observations_are_consistent(lake):
    theory, table = lake
    report = audit(lambda X: X["Observed_temp"], theory, table)
    assert report["density_increases_with_depth"].n_checks == 12881
    assert report.n_violations == 0
    assert report.score == 1.0


# -- repairs: bounds -------------------------------------------------------------------------------
def _ctx(theory, X, targets=None):
    return RepairContext(theory, X, tuple(targets or theory.targets))


def test_project_to_bounds_clips_into_variable_and_constraint_bounds_and_is_idempotent():
    theory = _one_input(Bounds("y", upper=0.8, name="cap"), y_bounds=(0, 1))
    X = _frame(np.arange(6))
    ctx = _ctx(theory, X)
    raw = {"y": np.array([-0.5, 0.0, 0.3, 0.8, 0.9, 7.0])}
    once = ProjectToBounds().apply(ctx, raw)
    np.testing.assert_array_equal(once["y"], [0.0, 0.0, 0.3, 0.8, 0.8, 0.8])
    assert raw["y"][0] == -0.5  # the input is not modified
    twice = ProjectToBounds().apply(ctx, once)
    np.testing.assert_array_equal(twice["y"], once["y"])
    assert audit(lambda X: once["y"], theory, X).n_violations == 0


def test_project_to_bounds_of_one_target_leaves_the_others():
    theory = Theory(
        [Variable("x"), *(Variable(n, bounds=(0, 1), role="target") for n in ("u", "v"))]
    )
    ctx = _ctx(theory, _frame([0, 1]))
    out = ProjectToBounds("v").apply(ctx, {"u": np.array([2.0, -1.0]), "v": np.array([2.0, 0.5])})
    np.testing.assert_array_equal(out["u"], [2.0, -1.0])
    np.testing.assert_array_equal(out["v"], [1.0, 0.5])
    with pytest.raises(TheoryError, match="'w' is not a predicted target; targets: \\['u', 'v'\\]"):
        ProjectToBounds("w").apply(ctx, {"u": np.zeros(2), "v": np.zeros(2)})


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=30
    ),
    lo=st.floats(-100, 100),
    width=st.floats(1e-3, 100),
)
def test_project_to_bounds_is_exact_and_idempotent_on_random_data(values, lo, width):
    hi = lo + width
    theory = _one_input(Bounds("y", lower=lo, upper=hi, name="b"))
    X = _frame(np.arange(len(values)))
    ctx = _ctx(theory, X)
    once = ProjectToBounds().apply(ctx, {"y": np.array(values)})["y"]
    assert np.all((once >= lo) & (once <= hi))
    inside = (np.array(values) >= lo) & (np.array(values) <= hi)
    np.testing.assert_array_equal(once[inside], np.array(values)[inside])
    np.testing.assert_array_equal(ProjectToBounds().apply(ctx, {"y": once})["y"], once)
    assert audit(lambda X: once, theory, X)["b"].n_violations == 0


# -- repairs: isotonic projection of a target ------------------------------------------------------
def _random_groups(rng, n_groups=6, decreasing=False):
    parts = []
    for g in range(n_groups):
        n = int(rng.integers(1, 12))
        z = rng.choice(np.arange(40.0), size=n, replace=False)
        trend = -z if decreasing else z
        parts.append(pd.DataFrame({"g": f"g{g}", "z": z, "q": 0.1 * trend + rng.normal(0, 1, n)}))
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=0)


@pytest.mark.parametrize("direction", ["increasing", "decreasing"])
def test_isotonic_projection_of_a_target_removes_every_violation(direction):
    rng = np.random.default_rng(6)
    df = _random_groups(rng, decreasing=direction == "decreasing").reset_index(drop=True)
    theory = _pair_theory(direction)
    X = df[["z", "g"]]
    before = audit(lambda X: df["q"].to_numpy(), theory, X)["mono"]
    assert before.n_violations > 5
    fixed = IsotonicProjection().apply(_ctx(theory, X), {"q": df["q"].to_numpy()})["q"]
    assert audit(lambda X: fixed, theory, X)["mono"].n_violations == 0
    # per group it is the least-squares isotonic fit along z
    for _, part in df.assign(fixed=fixed).groupby("g"):
        part = part.sort_values("z")
        expected = isotonic_regression(part["q"], increasing=direction == "increasing")
        np.testing.assert_allclose(part["fixed"], expected, rtol=0, atol=1e-14)
        assert part["fixed"].sum() == pytest.approx(part["q"].sum(), abs=1e-12)


def test_isotonic_projection_of_a_target_is_exactly_idempotent():
    rng = np.random.default_rng(7)
    df = _random_groups(rng, n_groups=20).reset_index(drop=True)
    theory = _pair_theory()
    ctx = _ctx(theory, df[["z", "g"]])
    once = IsotonicProjection().apply(ctx, {"q": df["q"].to_numpy()})["q"]
    twice = IsotonicProjection().apply(ctx, {"q": once})["q"]
    changed = np.flatnonzero(twice != once)
    assert changed.size == 0, f"a second projection moved {changed.size} rows by up to " + (
        f"{np.abs(twice - once).max():.3g}"
    )


def test_isotonic_projection_leaves_monotone_groups_bit_identical():
    # non-decreasing already; equal values (0.1 three times) need no change
    X = pd.DataFrame({"z": [0.0, 1.0, 2.0, 3.0, 0.0, 1.0], "g": ["a"] * 4 + ["b"] * 2})
    q = np.array([0.1, 0.1, 0.1, 0.5, 0.3, 0.7])
    out = IsotonicProjection().apply(_ctx(_pair_theory(), X), {"q": q})["q"]
    np.testing.assert_array_equal(out, q)


def test_rows_without_a_group_are_neither_audited_nor_projected_together():
    # rows with no group value (None) are not one group: the decreasing q of rows 2-4
    # is no violation, and the repair leaves those rows as they are
    X = pd.DataFrame({"z": [0.0, 1.0, 0.0, 1.0, 2.0], "g": ["a", "a", None, None, None]})
    q = np.array([0.5, 0.1, 3.0, 2.0, 1.0])
    theory = _pair_theory()
    assert audit(lambda X: q, theory, X)["mono"].n_violations == 1  # group "a" only
    out = IsotonicProjection().apply(_ctx(theory, X), {"q": q})["q"]
    np.testing.assert_array_equal(out, [0.3, 0.3, 3.0, 2.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, 6),
            st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
        ),
        min_size=1,
        max_size=40,
    ),
    increasing=st.booleans(),
)
def test_isotonic_projection_is_exact_on_random_data(data, increasing):
    g, z, q = (np.array(c) for c in zip(*data, strict=True))
    X = pd.DataFrame({"z": z.astype(float), "g": g})
    theory = _pair_theory("increasing" if increasing else "decreasing")
    fixed = IsotonicProjection().apply(_ctx(theory, X), {"q": q.astype(float)})["q"]
    assert audit(lambda X: fixed, theory, X)["mono"].n_violations == 0
    assert np.all(fixed >= q.min() - 1e-9) and np.all(fixed <= q.max() + 1e-9)


@settings(max_examples=60, deadline=None)
@example(data=[(0, 0.0, 0.0), (0, 1.0, 0.0), (0, 2.0, 0.0), (0, 3.0, 0.0), (0, 4.0, -1.0)])
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.floats(0, 10, allow_nan=False),
            st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
        ),
        min_size=1,
        max_size=40,
        unique_by=lambda t: (t[0], t[1]),  # no ties in z within a group
    )
)
def test_isotonic_projection_is_idempotent_on_random_data(data):
    g, z, q = (np.array(c) for c in zip(*data, strict=True))
    X = pd.DataFrame({"z": z, "g": g})
    ctx = _ctx(_pair_theory(), X)
    once = IsotonicProjection().apply(ctx, {"q": q.astype(float)})["q"]
    twice = IsotonicProjection().apply(ctx, {"q": once})["q"]
    np.testing.assert_array_equal(twice, once)


# -- repairs: isotonic projection of the density of water ----------------------------------------
def _density(t):
    return 1000 * (1 - (t + 288.9414) * (t - 3.9863) ** 2 / (508929.2 * (t + 68.12963)))


def _weighted_mean_density(*temps, h=1e-4):
    w = [1 / ((_density(t + h) - _density(t - h)) / (2 * h)) ** 2 for t in temps]
    return sum(wi * _density(t) for wi, t in zip(w, temps, strict=True)) / sum(w)


def _lake_profiles(seed=8, n_profiles=40):
    """Random temperature profiles in [0, 30] degC: cooling with depth, plus inversions."""
    rng = np.random.default_rng(seed)
    parts = []
    for p in range(n_profiles):
        n = int(rng.integers(2, 15))
        depth = np.sort(rng.choice(np.arange(0.0, 25.0, 0.5), size=n, replace=False))
        kind = p % 4
        if kind == 0:  # stratified summer profile, no inversion (kept as is)
            temp = np.sort(rng.uniform(5, 30, n))[::-1]
        elif kind == 1:  # winter profile, warmer below, up to 4 degC: no inversion either
            temp = np.sort(rng.uniform(0, 3.9, n))
        else:  # noisy: inversions on both sides of 4 degC
            temp = rng.uniform(0, 30, n) if kind == 2 else rng.uniform(1, 7, n)
        parts.append(pd.DataFrame({"DateTime": f"day{p}", "Depth": depth, "T": temp}))
    df = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=1)
    return df.reset_index(drop=True)


@pytest.fixture(scope="module")
def lake_theory():
    return Theory.from_toml(LAKE_TOML)


def test_isotonic_weights_of_a_relation_use_its_exact_derivative():
    from tgds.refine._repairs import _RelationInverse  # noqa: PLC0415

    theory = Theory(
        [Variable("y", role="target")],
        parameters=[Parameter("k", value=2.0)],
        relations=[Relation("cube", "k*y**3")],
    )
    y = np.array([-3.0, -0.5, 0.25, 2.0])
    inverse = _RelationInverse.of(theory, "cube", ("y",), {"y": y})
    np.testing.assert_allclose(inverse.weights(y), 1 / (6 * y**2) ** 2, rtol=1e-14)


def test_density_projection_keeps_out_of_bounds_values_on_their_own_branch(lake_theory):
    # a winter profile predicted slightly below 0 degC (outside the bounds [0, 40]): density
    # of -0.8 degC equals that of about 8.7 degC; the repair must not jump to that branch
    X = pd.DataFrame({"DateTime": "d", "Depth": [2.0, 8.0, 12.0, 20.0]})
    raw = np.array([-0.28, -0.21, -0.44, -0.82])
    fixed = IsotonicProjection().apply(_ctx(lake_theory, X), {"Observed_temp": raw})[
        "Observed_temp"
    ]
    assert np.all(np.abs(fixed - raw) < 0.5)
    rho = _density(fixed)
    assert np.all(np.diff(rho) >= -1e-9)


def test_density_projection_repairs_every_inversion_and_keeps_consistent_rows(lake_theory):
    df = _lake_profiles()
    X = df[["DateTime", "Depth"]]
    ctx = _ctx(lake_theory, X)
    raw = df["T"].to_numpy()
    name = "density_increases_with_depth"
    before = audit(lambda X: raw, lake_theory, X, constraints=[name])[name]
    assert before.n_violations > 20
    once = IsotonicProjection(name).apply(ctx, {"Observed_temp": raw})["Observed_temp"]
    after = audit(lambda X: once, lake_theory, X)
    assert after[name].n_violations == 0
    assert after["liquid_water"].n_violations == 0
    assert np.all((once >= 0.0) & (once <= 40.0))
    # profiles without inversion are untouched, bit for bit
    untouched = df["DateTime"].map(lambda d: int(d[3:]) % 4 < 2).to_numpy()
    np.testing.assert_array_equal(once[untouched], raw[untouched])
    assert np.any(once[~untouched] != raw[~untouched])
    # the repaired density is the isotonic fit of the original density, profile by profile,
    # weighted by 1/density'(T)^2
    h = 1e-4
    weight = 1 / ((_density(raw + h) - _density(raw - h)) / (2 * h)) ** 2
    frame = df.assign(fixed=_density(once), original=_density(raw), weight=weight)
    for _, part in frame.groupby("DateTime"):
        part = part.sort_values("Depth")
        expected = isotonic_regression(part["original"], sample_weight=part["weight"])
        np.testing.assert_allclose(part["fixed"], expected, rtol=0, atol=1e-7)
    twice = IsotonicProjection(name).apply(ctx, {"Observed_temp": once})["Observed_temp"]
    np.testing.assert_array_equal(twice, once)


def test_density_projection_of_a_hand_made_profile(lake_theory):
    # 18 degC above 19 degC is an inversion; 6 degC above 2 degC too (2 degC is lighter)
    X = pd.DataFrame({"DateTime": ["a"] * 5 + ["b"] * 2, "Depth": [0, 1, 2, 3, 4, 0, 1.0]})
    raw = np.array([20.0, 18.0, 19.0, 10.0, 8.0, 6.0, 2.0])
    assert _density(6.0) > _density(2.0)
    out = IsotonicProjection().apply(_ctx(lake_theory, X), {"Observed_temp": raw})
    t = out["Observed_temp"]
    np.testing.assert_array_equal(t[[0, 3, 4]], raw[[0, 3, 4]])
    # the pooled density is weighted by 1/density'(T)^2 (nearest profile in degC, to first order)
    target = _weighted_mean_density(18.0, 19.0)
    assert t[1] == pytest.approx(t[2], abs=1e-9) and 18.0 < t[1] < 19.0
    assert _density(t[1]) == pytest.approx(target, abs=1e-9)
    # each side of the density maximum (near 3.98 degC) keeps its own branch: the mean
    # density is reached a little above 6 degC and a little above 2 degC
    target = _weighted_mean_density(2.0, 6.0)
    assert 6.0 < t[5] < 6.2 and 2.0 < t[6] < 2.2
    assert _density(t[5]) == pytest.approx(target, abs=1e-9)
    assert _density(t[6]) == pytest.approx(target, abs=1e-9)


# -- repairs: conservation ------------------------------------------------------------------------
def _budget_ctx(theory, n=30, seed=9):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"total": rng.uniform(1, 10, n)})
    preds = {k: rng.uniform(0, 5, n) for k in ("a", "b", "c")}
    return _ctx(theory, X), preds


def test_conservation_projection_is_the_least_squares_correction_for_one_equation():
    theory = _budget_theory("a + b + c == total")
    ctx, preds = _budget_ctx(theory)
    out = ConservationProjection().apply(ctx, preds)
    excess = preds["a"] + preds["b"] + preds["c"] - ctx.X["total"].to_numpy()
    for k in ("a", "b", "c"):  # each target moves by a third of the excess
        np.testing.assert_allclose(out[k], preds[k] - excess / 3, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["a"] + out["b"] + out["c"], ctx.X["total"], rtol=0, atol=1e-12)
    again = ConservationProjection().apply(ctx, out)
    for k in ("a", "b", "c"):
        np.testing.assert_allclose(again[k], out[k], rtol=0, atol=1e-12)
    assert audit(lambda X: np.column_stack([out[k] for k in "abc"]), theory, ctx.X).score == 1.0


def test_conservation_projection_onto_two_equations():
    theory = _budget_theory("a + b + c == total", "a == 2*b")
    ctx, preds = _budget_ctx(theory)
    out = ConservationProjection().apply(ctx, preds)
    a, b, c = out["a"], out["b"], out["c"]
    np.testing.assert_allclose(a + b + c, ctx.X["total"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(a, 2 * b, rtol=0, atol=1e-12)
    # least squares: the correction is orthogonal to the plane the equations leave free,
    # spanned by (2, 1, -3) (a = 2b and a + b + c = const)
    delta = np.column_stack([a - preds["a"], b - preds["b"], c - preds["c"]])
    np.testing.assert_allclose(delta @ np.array([2.0, 1.0, -3.0]), 0.0, atol=1e-12)
    again = ConservationProjection().apply(ctx, out)
    for k in ("a", "b", "c"):
        np.testing.assert_allclose(again[k], out[k], rtol=0, atol=1e-12)
    only_first = ConservationProjection(("eq0",)).apply(ctx, preds)
    np.testing.assert_allclose(
        only_first["a"] + only_first["b"] + only_first["c"], ctx.X["total"], atol=1e-12
    )
    assert np.max(np.abs(only_first["a"] - 2 * only_first["b"])) > 0.1


def test_conservation_projection_refuses_nonlinear_and_dependent_equations():
    ctx, preds = _budget_ctx(_budget_theory("a*b + c == total"))
    with pytest.raises(TheoryError, match="'eq0' is not linear in the targets"):
        ConservationProjection().apply(ctx, preds)
    ctx, preds = _budget_ctx(_budget_theory("a + b + c == total", "2*a + 2*b + 2*c == 2*total"))
    with pytest.raises(TheoryError, match="linearly dependent"):
        ConservationProjection().apply(ctx, preds)
    ctx, preds = _budget_ctx(_budget_theory("a + b + c == total"))
    with pytest.raises(TheoryError, match="no algebraic equation named \\['nope'\\]"):
        ConservationProjection(("nope",)).apply(ctx, preds)


def test_conservation_projection_without_equations_changes_nothing():
    theory = _one_input(Bounds("y", upper=1.0))
    y = np.array([0.5, 2.0])
    out = ConservationProjection().apply(_ctx(theory, _frame([0, 1])), {"y": y})
    np.testing.assert_array_equal(out["y"], y)


# -- ConsistentRegressor -----------------------------------------------------------------------
def _sites_theory():
    return Theory(
        [
            Variable("x"),
            Variable("z", "m"),
            Variable("s"),
            Variable("zs", "m"),
            Variable("site", role="group"),
            Variable("y", bounds=(0, 1), role="target"),
        ],
        constraints=[
            Monotonic("y", wrt="z", within="site", name="rising"),
            Bounds("y", name="range"),
        ],
    )


def _sites(x_values):
    """Sites with z = 0..3; s = +1 (y rises with z) or -1 (y falls with z)."""
    rows = []
    for k, (s, x) in enumerate(x_values):
        for z in range(4):
            rows.append({"x": x, "z": float(z), "s": s, "zs": s * z, "site": f"site{k}"})
    return pd.DataFrame(rows)


def _pipeline(model):
    select = ColumnTransformer([("num", "passthrough", ["x", "z", "s", "zs"])])
    return Pipeline([("select", select), ("model", model)])


def _truth(X):
    return 0.5 + 0.1 * X["zs"] + 0.2 * X["x"]


@pytest.fixture(scope="module")
def fitted_sites():
    train = _sites([(1.0, 0.0), (-1.0, 0.0), (1.0, 1.0), (-1.0, -1.0), (1.0, 0.5)])
    return train, _truth(train)


def test_default_repairs_order():
    full = Theory(
        [
            Variable("total"),
            Variable("z"),
            Variable("g", role="group"),
            Variable("a", bounds=(0, 10), role="target"),
            Variable("b", role="target"),
        ],
        constraints=[
            Bounds("a"),
            Monotonic("a", wrt="z", within="g"),
            Equation("a + b == total"),
            Equation("D(a, z) + 0*b == 0"),
        ],
    )
    assert default_repairs(full) == (
        ConservationProjection(),
        ProjectToBounds(),
        IsotonicProjection(),
    )
    assert default_repairs(_one_input(Bounds("y", upper=1.0))) == (ProjectToBounds(),)
    no_groups = _one_input(Monotonic("y", wrt="x"), Equation("D(y, x) == 1"))
    assert default_repairs(no_groups) == (ProjectToBounds(),)


def test_consistent_regressor_repairs_and_reports_the_changes(fitted_sites):
    train, y = fitted_sites
    model = ConsistentRegressor(_pipeline(LinearRegression()), _sites_theory()).fit(train, y)
    # bounds first: site2 (1.3 falling to 1.0) and site3 (rising from 1.3) are clipped to 1
    # (7 rows); then site1, falling from 0.5 to 0.2, is pooled to its mean 0.35
    test = _sites([(1.0, 0.0), (-1.0, 0.0), (-1.0, 4.0), (1.0, 4.0)])
    raw = model.predict_raw(test)
    np.testing.assert_allclose(raw, _truth(test), atol=1e-12)
    out = model.predict(test)
    assert out.shape == (16,)
    expected = np.r_[0.5 + 0.1 * np.arange(4), [0.35] * 4, [1.0] * 8]
    np.testing.assert_allclose(out, expected, atol=1e-12)
    report = model.repair_report_
    assert report["repair"].tolist() == ["ProjectToBounds", "IsotonicProjection"]
    assert report["rows_changed"].tolist() == [7, 4]
    assert report["max_abs_change"].tolist() == pytest.approx([0.6, 0.15], abs=1e-12)
    # the isotonic step moves the site1 rows by 0.15, 0.05, 0.05, 0.15
    assert report["mean_abs_change"][1] == pytest.approx(0.4 / 16, abs=1e-12)
    assert audit(lambda X: out, _sites_theory(), test).n_violations == 0
    np.testing.assert_array_equal(model.predict_raw(test), raw)  # raw stays unrepaired


def test_consistent_regressor_with_a_tree_has_no_violation_left():
    rng = np.random.default_rng(10)
    train = _sites([(rng.choice([-1.0, 1.0]), rng.uniform(-1, 3)) for _ in range(30)])
    y = _truth(train) + rng.normal(0, 0.3, len(train))
    for est in (
        DecisionTreeRegressor(max_depth=4, random_state=0),
        HistGradientBoostingRegressor(max_iter=15, random_state=0),
    ):
        model = ConsistentRegressor(_pipeline(est), _sites_theory()).fit(train, y)
        raw = model.predict_raw(train)
        assert audit(lambda X, r=raw: r, _sites_theory(), train).n_violations > 0
        out = model.predict(train)
        assert audit(lambda X, o=out: o, _sites_theory(), train).n_violations == 0
        changed = model.repair_report_["rows_changed"].sum()
        assert 0 < changed <= 2 * len(train)


def test_consistent_regressor_rejects_exactly_the_rows_in_violating_checks(fitted_sites):
    train, y = fitted_sites
    model = ConsistentRegressor(
        _pipeline(LinearRegression()), _sites_theory(), repairs=(), reject=True
    ).fit(train, y)
    # site0 rises inside bounds; site1 falls; site2 rises but its last row is 1.08 > 1
    test = _sites([(1.0, 0.0), (-1.0, 0.0), (1.0, 1.4)])
    out = model.predict(test)
    rejected = np.flatnonzero(np.isnan(out))
    np.testing.assert_array_equal(rejected, [4, 5, 6, 7, 11])
    np.testing.assert_allclose(out[:4], 0.5 + 0.1 * np.arange(4), atol=1e-12)
    np.testing.assert_allclose(out[8:11], 0.78 + 0.1 * np.arange(3), atol=1e-12)
    assert model.repair_report_.empty
    rej = model.rejections_
    assert list(rej.columns) == ["row", "constraint", "size"]
    assert set(rej.loc[rej["constraint"] == "rising", "row"]) == {4, 5, 6, 7}
    assert rej.loc[rej["constraint"] == "rising", "size"].to_numpy() == pytest.approx(
        [0.1] * 6, abs=1e-12
    )  # three falling pairs, each row of a pair listed
    bound = rej[rej["constraint"] == "range"]
    assert bound["row"].tolist() == [11]
    assert bound["size"].tolist() == pytest.approx([0.08], abs=1e-12)


def test_consistent_regressor_clone_and_nested_params():
    model = ConsistentRegressor(
        _pipeline(LinearRegression()), _sites_theory(), repairs=(ProjectToBounds(),)
    )
    params = model.get_params()
    assert params["estimator__model__fit_intercept"] is True
    assert params["repairs"] == (ProjectToBounds(),)
    copy = clone(model)
    assert copy is not model and copy.estimator is not model.estimator
    assert copy.get_params()["theory"] == model.theory
    copy.set_params(estimator__model__fit_intercept=False, reject=True)
    assert copy.estimator.named_steps["model"].fit_intercept is False
    assert model.estimator.named_steps["model"].fit_intercept is True
    plain = ConsistentRegressor(LinearRegression(), _one_input(Bounds("y", upper=1.0)))
    assert plain.get_params()["estimator__fit_intercept"] is True
    plain.set_params(estimator__fit_intercept=False)
    X = _frame(np.arange(1.0, 5.0))
    fitted = plain.fit(X, 0.5 * X["x"])
    assert fitted.estimator_.intercept_ == 0.0
    np.testing.assert_allclose(fitted.predict(X), [0.5, 1.0, 1.0, 1.0], atol=1e-12)


def test_consistent_regressor_with_two_targets_returns_two_columns():
    theory = _budget_theory("a + b + c == total")
    rng = np.random.default_rng(11)
    X = pd.DataFrame({"total": rng.uniform(1, 10, 40)})
    Y = np.column_stack([X["total"] * w for w in (0.2, 0.3, 0.5)]) + rng.normal(0, 0.1, (40, 3))
    model = ConsistentRegressor(LinearRegression(), theory).fit(X, Y)
    out = model.predict(X)
    assert out.shape == (40, 3)
    np.testing.assert_allclose(out.sum(axis=1), X["total"], atol=1e-12)
    assert model.repair_report_["repair"].tolist() == ["ConservationProjection", "ProjectToBounds"]


# -- bad input ------------------------------------------------------------------------------------
def test_audit_refuses_bad_data():
    theory = _one_input(Bounds("y", upper=1.0))
    with pytest.raises(DataError, match="pandas or polars DataFrame.*got ndarray"):
        audit(_x, theory, np.zeros((3, 1)))
    with pytest.raises(DataError, match="X has 0 rows"):
        audit(_x, theory, _frame([]))
    with pytest.raises(DataError, match="needs a Theory; got dict"):
        audit(_x, {"y": 1}, _frame([0.0]))


def test_audit_names_a_missing_group_or_wrt_column():
    df = _profiles()
    with pytest.raises(DataError, match="needs the column 'g'; X has \\['z'\\]"):
        audit(lambda X: df["q"].to_numpy(), _pair_theory(), df[["z"]])
    with pytest.raises(DataError, match="needs the column 'z'; X has \\['g'\\]"):
        audit(lambda X: df["q"].to_numpy(), _pair_theory(), df[["g"]])
    theory = _one_input(Monotonic("y", wrt="x", name="m"))
    with pytest.raises(DataError, match="'m' needs the column 'x'; X has \\['w'\\]"):
        audit(lambda X: np.zeros(len(X)), theory, pd.DataFrame({"w": [1.0, 2.0]}))


def test_audit_refuses_unknown_constraints_targets_and_models():
    theory = _one_input(Bounds("y", upper=1.0, name="cap"))
    X = _frame([0.0, 1.0])
    with pytest.raises(TheoryError, match="unknown constraint\\(s\\) \\['cup'\\].*\\['cap'\\]"):
        audit(_x, theory, X, constraints=["cup"])
    with pytest.raises(DataError, match="'z' is not a target of the theory; targets: \\['y'\\]"):
        audit(_x, theory, X, targets=["z"])
    with pytest.raises(DataError, match="a model with predict\\(\\) or a callable; got object"):
        audit(object(), theory, X)


def test_audit_refuses_predictions_with_too_many_columns():
    theory = _one_input(Bounds("y", upper=1.0))
    X = _frame([0.0, 1.0, 2.0])
    with pytest.raises(DataError, match="shape \\(3, 2\\); expected \\(3,\\) or \\(3, 1\\)"):
        audit(lambda X: np.zeros((3, 2)), theory, X)


def test_audit_refuses_predictions_with_the_wrong_number_of_rows():
    theory = _one_input(Bounds("y", upper=1.0))
    X = _frame([0.0, 1.0, 2.0])
    with pytest.raises(DataError, match="shape \\(5,\\); expected \\(3,\\) or \\(3, 1\\)"):
        audit(lambda X: np.zeros(5), theory, X)


def test_consistent_regressor_refuses_bad_estimators_and_repairs():
    theory = _one_input(Bounds("y", upper=1.0))
    X = _frame([0.0, 1.0, 2.0])
    with pytest.raises(DataError, match="repairs must be repair objects.*got 'clip'"):
        ConsistentRegressor(LinearRegression(), theory, repairs=["clip"]).fit(X, X["x"])
    with pytest.raises(DataError, match="an estimator with fit and predict; got object"):
        ConsistentRegressor(object(), theory).fit(X, X["x"])
    with pytest.raises(ValueError, match="'theory' parameter of ConsistentRegressor must be"):
        ConsistentRegressor(LinearRegression(), "lake.toml").fit(X, X["x"])


def test_isotonic_projection_refuses_unknown_constraints_and_two_target_relations():
    theory = _pair_theory()
    ctx = _ctx(theory, _profiles()[["z", "g"]])
    with pytest.raises(TheoryError, match="named 'nope'; candidates: \\['mono'\\]"):
        IsotonicProjection("nope").apply(ctx, {"q": np.zeros(8)})
    two = Theory(
        [
            Variable("z"),
            Variable("g", role="group"),
            Variable("u", role="target"),
            Variable("v", role="target"),
        ],
        relations={"mass": "u + v"},
        constraints=[Monotonic("mass", wrt="z", within="g")],
    )
    ctx = _ctx(two, _profiles()[["z", "g"]])
    with pytest.raises(TheoryError, match="relation of one predicted target.*\\['u', 'v'\\]"):
        IsotonicProjection().apply(ctx, {"u": np.zeros(8), "v": np.zeros(8)})
    with pytest.raises(DataError, match="needs the column 'g'; X has \\['z'\\]"):
        IsotonicProjection().apply(_ctx(theory, pd.DataFrame({"z": [0.0]})), {"q": np.zeros(1)})


# -- non-finite values -------------------------------------------------------------------------
def test_nan_model_violates_every_check_and_scores_zero():
    theory = Theory(
        [Variable("x", "m"), Variable("g", role="group"), Variable("y", "m", role="target")],
        constraints=[
            Monotonic("y", wrt="x", within="g", name="pairs"),
            Monotonic("y", wrt="x", name="slope"),
            Shape("y", "x", "convex", name="shape"),
            Equation("y == 2*x", name="eq"),
            Invariance(Translation(("x",), (1.0,)), name="inv"),
        ],
    )
    X = pd.DataFrame({"x": np.linspace(0, 1, 5), "g": "a"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "All-NaN slice" or invalid-value warnings
        report = audit(lambda X: np.full(len(X), np.nan), theory, X)
    for r in report.results:
        assert r.n_checks > 0 and r.n_violations == r.n_checks, r.label
        assert r.max_violation == math.inf
    assert report.score == 0.0


def test_one_non_finite_prediction_violates_the_checks_it_is_in():
    theory = _pair_theory()
    X = pd.DataFrame({"z": [0.0, 1.0, 2.0, 3.0], "g": "a"})
    q = np.array([0.0, np.nan, 2.0, 3.0])
    result = audit(lambda X: q, theory, X)["mono"]
    assert result.violations == (((0, 1), math.inf), ((1, 2), math.inf))
    # an infinite value must not make the slack of derivative checks infinite
    grid = _frame(GRID)
    model = lambda X: np.where(_x(X) == -1.0, np.inf, _x(X) ** 2)  # noqa: E731
    up = audit(model, _one_input(Monotonic("y", wrt="x", name="m")), grid)["m"]
    assert up.n_violations == 50 and _rows(up) == set(range(50))
    assert dict(up.violations)[(0,)] == math.inf
    eq = audit(model, _one_input(Equation("y == x**2", name="e")), grid)["e"]
    assert eq.violations == (((0,), math.inf),)


def test_isotonic_projection_leaves_non_finite_values_and_projects_the_rest():
    X = pd.DataFrame({"z": [0.0, 1.0, 2.0, 3.0, 4.0], "g": "a"})
    q = np.array([0.0, np.nan, 2.0, 1.0, np.inf])
    out = IsotonicProjection().apply(_ctx(_pair_theory(), X), {"q": q})["q"]
    np.testing.assert_array_equal(out, [0.0, np.nan, 1.5, 1.5, np.inf])


def test_density_projection_with_a_nan_temperature(lake_theory):
    X = pd.DataFrame({"DateTime": "d", "Depth": [0.0, 1.0, 2.0, 3.0]})
    raw = np.array([18.0, np.nan, 19.0, 10.0])  # 18 above 19 degC is an inversion
    fixed = IsotonicProjection().apply(_ctx(lake_theory, X), {"Observed_temp": raw})
    t = fixed["Observed_temp"]
    assert np.isnan(t[1]) and t[3] == 10.0
    assert t[0] == pytest.approx(t[2], abs=1e-9) and 18.0 < t[0] < 19.0


def test_rows_without_a_finite_wrt_are_neither_audited_nor_projected():
    X = pd.DataFrame({"z": [0.0, np.nan, 1.0, 2.0], "g": "a"})
    theory = _pair_theory()
    ctx = _ctx(theory, X)
    q = np.array([0.0, -5.0, 2.0, 1.0])  # the row at z = NaN is in no order
    assert audit(lambda X: q, theory, X)["mono"].violations == (((2, 3), 1.0),)
    np.testing.assert_array_equal(
        IsotonicProjection().apply(ctx, {"q": q})["q"], [0.0, -5.0, 1.5, 1.5]
    )
    consistent = np.array([0.0, -5.0, 1.0, 2.0])
    assert audit(lambda X: consistent, theory, X)["mono"].n_violations == 0
    np.testing.assert_array_equal(
        IsotonicProjection().apply(ctx, {"q": consistent})["q"], consistent
    )


# -- isotonic projection: bounds constraints and ties in wrt -----------------------------------------
def test_density_projection_keeps_a_bounds_constraint_that_projecting_to_bounds_enforced():
    rho = "1000*(1 - (T + 288.9414)*(T - 3.9863)**2/(508929.2*(T + 68.12963)))"
    theory = Theory(
        [
            Variable("Depth", "m"),
            Variable("Date", role="group"),
            Variable("T", "degC", bounds=(0, 40), role="target"),
        ],
        relations={"density": Relation("density", rho, unit="kg/m^3", empirical=True)},
        constraints=[Monotonic("density", wrt="Depth", within="Date"), Bounds("T", lower=1.0)],
    )
    X = pd.DataFrame({"Depth": [0.0, 1.0], "Date": "d"})
    ctx = _ctx(theory, X)
    preds = {"T": np.array([1.0, 10.0])}
    for repair in default_repairs(theory):
        preds = repair.apply(ctx, preds)
    assert np.all(preds["T"] >= 1.0)
    assert audit(lambda X: preds["T"], theory, X).score == 1.0


def test_isotonic_projection_of_tied_rows_follows_the_audits_levels():
    # two rows at z = 0 are not ordered: 1 then 0 at z = 0, then 2 at z = 1 is consistent
    X = pd.DataFrame({"z": [0.0, 0.0, 1.0], "g": "a"})
    theory = _pair_theory()
    ctx = _ctx(theory, X)
    q = np.array([1.0, 0.0, 2.0])
    assert audit(lambda X: q, theory, X)["mono"].n_violations == 0
    np.testing.assert_array_equal(IsotonicProjection().apply(ctx, {"q": q})["q"], q)
    # 0.5 at z = 1 lies below 1 at z = 0 only: the nearest repair pools those two, not 0
    q = np.array([1.0, 0.0, 0.5])
    out = IsotonicProjection().apply(ctx, {"q": q})["q"]
    np.testing.assert_allclose(out, [0.75, 0.0, 0.75], rtol=0, atol=1e-15)
    decreasing = _pair_theory("decreasing")
    out = IsotonicProjection().apply(_ctx(decreasing, X), {"q": -q})["q"]
    np.testing.assert_allclose(out, [-0.75, 0.0, -0.75], rtol=0, atol=1e-15)


@pytest.mark.parametrize("seed", range(6))
def test_isotonic_projection_with_ties_is_the_least_squares_projection(seed):
    from scipy.optimize import minimize  # noqa: PLC0415

    from tgds.utils import monotone_pairs  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    n = 9
    z = rng.integers(0, 4, n).astype(float)
    q = rng.normal(0, 1, n)
    X = pd.DataFrame({"z": z, "g": "a"})
    theory = _pair_theory()
    out = IsotonicProjection().apply(_ctx(theory, X), {"q": q})["q"]
    assert audit(lambda X: out, theory, X)["mono"].n_violations == 0
    pairs = monotone_pairs(z, np.zeros(n, dtype=int))
    constraints = [{"type": "ineq", "fun": lambda y, i=i, j=j: y[j] - y[i]} for i, j in pairs]
    ref = minimize(
        lambda y: np.sum((y - q) ** 2),
        q,
        jac=lambda y: 2 * (y - q),
        constraints=constraints,
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    ).x
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, 3),
            st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
        ),
        min_size=1,
        max_size=40,
    ),
    increasing=st.booleans(),
)
def test_isotonic_projection_with_ties_is_consistent_and_idempotent(data, increasing):
    g, z, q = (np.array(c) for c in zip(*data, strict=True))
    X = pd.DataFrame({"z": z.astype(float), "g": g})
    theory = _pair_theory("increasing" if increasing else "decreasing")
    ctx = _ctx(theory, X)
    once = IsotonicProjection().apply(ctx, {"q": q.astype(float)})["q"]
    assert audit(lambda X: once, theory, X)["mono"].n_violations == 0
    np.testing.assert_array_equal(IsotonicProjection().apply(ctx, {"q": once})["q"], once)


# -- default repairs: equations that cannot be projected -----------------------------------------
def test_default_repairs_leave_out_nonlinear_and_target_free_equations():
    X = pd.DataFrame({"x": np.linspace(1, 2, 10), "z": np.linspace(2, 4, 10)})
    nonlinear = Theory(
        [Variable("x"), Variable("y", role="target", bounds=(0, 5))],
        constraints=[Equation("y**2 == x")],
    )
    inputs_only = Theory(
        [Variable("x"), Variable("z"), Variable("y", role="target", bounds=(0, 5))],
        constraints=[Equation("z == 2*x", name="inputs")],
    )
    for theory in (nonlinear, inputs_only):
        assert default_repairs(theory) == (ProjectToBounds(),)
        model = ConsistentRegressor(LinearRegression(), theory).fit(X, np.sqrt(X["x"]))
        assert model.predict(X).shape == (10,)
    mixed = _budget_theory("a + b + c == total", "a*b == 1")
    assert default_repairs(mixed) == (ConservationProjection(("eq0",)), ProjectToBounds())
    ctx = _ctx(inputs_only, X)
    with pytest.raises(TheoryError, match="equation 'inputs' involves no predicted target"):
        ConservationProjection().apply(ctx, {"y": np.zeros(10)})


# -- predictions and observations matched to the targets ------------------------------------------
class _FrameModel(RegressorMixin, BaseEstimator):
    """A fitted model whose predict returns a data frame with the given columns."""

    def __init__(self, columns):
        self.columns = columns

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        values = {"a": 0.5, "b": 15.0}
        return pd.DataFrame({c: np.full(len(X), values.get(c, 0.0)) for c in self.columns})


def _two_targets():
    return Theory(
        [
            Variable("x", "m"),
            Variable("a", role="target", bounds=(0, 1)),
            Variable("b", role="target", bounds=(10, 20)),
        ],
        constraints=[Bounds("a", name="ra"), Bounds("b", name="rb")],
    )


def test_data_frame_predictions_are_matched_to_the_targets_by_name():
    theory = _two_targets()
    X = _frame([0.0, 1.0, 2.0])
    assert audit(_FrameModel(["b", "a"]), theory, X).score == 1.0
    model = ConsistentRegressor(_FrameModel(["b", "a"]).fit(X), theory, prefit=True).fit()
    np.testing.assert_array_equal(model.predict(X), [[0.5, 15.0]] * 3)
    with pytest.raises(
        DataError, match="columns \\['b', 'c'\\]; expected the targets \\['a', 'b'\\]"
    ):
        audit(_FrameModel(["b", "c"]), theory, X)
    with pytest.raises(DataError, match="columns \\['p', 'q'\\]; expected the targets"):
        ConsistentRegressor(_FrameModel(["p", "q"]).fit(X), theory, prefit=True).fit().predict(X)


def test_audit_checks_the_shape_of_y():
    theory = _one_input(Bounds("y", upper=1.0))
    X = _frame([0.0, 1.0, 2.0, 3.0])
    for y in ([1.0, 2.0], np.zeros(8), np.zeros((4, 2))):
        with pytest.raises(DataError, match="y has shape .*; expected \\(4,\\) or \\(4, 1\\)"):
            audit(lambda X: np.zeros(4), theory, X, y=y)
    assert audit(lambda X: np.zeros(4), theory, X, y=np.ones((4, 1))).rmse == 1.0
    two = _two_targets()
    with pytest.raises(DataError, match="y has shape \\(4,\\); expected \\(4, 2\\)"):
        audit(lambda X: np.zeros((4, 2)), two, X, y=np.zeros(4))
    y = pd.DataFrame({"b": [15.0] * 4, "a": [0.5] * 4})
    assert audit(_FrameModel(["a", "b"]), two, X, y=y).rmse == 0.0


def test_audit_names_a_non_numeric_column_it_must_differentiate_along():
    theory = Theory(
        [Variable("t", "s", role="time"), Variable("y", role="target")],
        constraints=[Monotonic("y", wrt="t", name="m")],
    )
    X = pd.DataFrame({"t": pd.date_range("2020", periods=4)})
    with pytest.raises(
        DataError, match="'m' differentiates along the column 't', which has dtype datetime64"
    ):
        audit(lambda X: np.arange(4.0), theory, X)
    for values in ([True, False, True], ["1", "2", "3"]):
        theory = _one_input(Shape("y", "x", "convex", name="s"))
        with pytest.raises(
            DataError, match="along the column 'x', which has dtype .*numeric column"
        ):
            audit(lambda X: np.arange(3.0), theory, pd.DataFrame({"x": values}))
    words = Theory(
        [Variable("a"), Variable("b"), Variable("y", role="target")],
        constraints=[Interactions([["a"], ["b"]], name="i")],
    )
    X = pd.DataFrame({"a": [1.0, 2.0], "b": ["u", "v"]})
    with pytest.raises(DataError, match="'i' differentiates along the column 'b'"):
        audit(lambda X: np.zeros(len(X)), words, X)
    pairs = pd.DataFrame({"z": ["deep", "shallow"], "g": "a"})
    with pytest.raises(DataError, match="'mono' orders rows along the column 'z', which has dtype"):
        audit(lambda X: np.zeros(len(X)), _pair_theory(), pairs)
    with pytest.raises(DataError, match="'mono' orders rows along the column 'z'"):
        IsotonicProjection().apply(_ctx(_pair_theory(), pairs), {"q": np.zeros(2)})


def test_monotonic_within_groups_orders_rows_by_date_and_leaves_out_missing_dates():
    dates = pd.to_datetime(["2020-01-03", "2020-01-01", None, "2020-01-02"])
    X = pd.DataFrame({"z": dates, "g": "a"})
    q = np.array([1.0, 0.0, -9.0, 2.0])  # by date: 0, 2, 1; the NaT row is in no order
    theory = _pair_theory()
    assert audit(lambda X: q, theory, X)["mono"].violations == (((3, 0), 1.0),)
    out = IsotonicProjection().apply(_ctx(theory, X), {"q": q})["q"]
    np.testing.assert_array_equal(out, [1.5, 0.0, -9.0, 1.5])


def test_audit_by_default_leaves_out_constraints_on_inputs_and_unpredicted_targets():
    theory = Theory(
        [Variable("x", "m"), Variable("a", "1", role="target"), Variable("b", "1", role="target")],
        constraints=[Bounds("a", 0, 1), Bounds("b", 0, 1), Bounds("x", 0, 10)],
    )
    X = pd.DataFrame({"x": np.linspace(0, 1, 5)})
    report = audit(lambda X: np.full(len(X), 2.0), theory, X, targets=["a"])
    assert [r.label for r in report.results] == ["0 <= a <= 1"]
    assert report.results[0].n_violations == 5
    with pytest.raises(TheoryError, match="input of the model"):  # named: audited or refused
        audit(
            lambda X: np.full(len(X), 2.0), theory, X, targets=["a"], constraints=["0 <= x <= 10"]
        )
