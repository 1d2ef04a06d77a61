"""Review findings for :mod:`tgds.refine`: edge cases of the repairs and ConsistentRegressor.

Each test failed on the code before its fix: non-finite predictions in the repair report
and in the conservation projection, a model of some of the theory's targets, unknown
targets, a single equation name given as a string, and a far outlier that hid the
branches of a relation from its inversion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression

from tgds.exceptions import DataError, TheoryError
from tgds.refine import (
    ConservationProjection,
    ConsistentRegressor,
    IsotonicProjection,
    ProjectToBounds,
    RepairContext,
    audit,
    default_repairs,
)
from tgds.theory import Bounds, Equation, Interactions, Monotonic, Relation, Theory, Variable

LAKE_TOML = Path(__file__).resolve().parents[1] / "examples" / "lake.toml"


class _Fixed(RegressorMixin, BaseEstimator):
    """A fitted stand-in that predicts the given values, whatever X."""

    def __init__(self, values=None):
        self.values = values

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return np.asarray(self.values, dtype=float)

    def __sklearn_is_fitted__(self):
        return True


def _budget_theory(*extra):
    return Theory(
        [
            Variable("total"),
            Variable("z"),
            Variable("g", role="group"),
            Variable("a", bounds=(0, 10), role="target"),
            Variable("b", role="target"),
        ],
        constraints=[Equation("a + b == total", name="budget"), *extra],
    )


# -- the repair report -----------------------------------------------------------------------
def test_repair_report_does_not_count_a_nan_prediction_left_as_it_is_as_changed():
    theory = Theory([Variable("x"), Variable("y", bounds=(0, 1), role="target")])
    model = ConsistentRegressor(_Fixed([np.nan, 0.5, 2.0]), theory, prefit=True).fit()
    out = model.predict(pd.DataFrame({"x": [0.0, 1.0, 2.0]}))
    np.testing.assert_array_equal(out, [np.nan, 0.5, 1.0])
    report = model.repair_report_
    assert report["rows_changed"].tolist() == [1]  # only the clipped 2.0
    assert report["max_abs_change"].tolist() == [1.0]
    assert report["mean_abs_change"].tolist() == pytest.approx([1.0 / 3.0])


# -- conservation with non-finite values ----------------------------------------------------------
def test_conservation_projection_leaves_rows_with_a_non_finite_value_as_they_are():
    theory = _budget_theory()
    X = pd.DataFrame({"total": [1.0, 2.0, np.nan, 3.0]})
    a = np.array([np.nan, 1.0, 1.0, 1.0])
    b = np.array([0.2, 0.5, 0.5, np.inf])
    out = ConservationProjection().apply(RepairContext(theory, X, ("a", "b")), {"a": a, "b": b})
    # rows 0, 2, 3 cannot be projected (a missing target, total or an infinite b): kept,
    # not turned into NaN in every target; row 1 is projected
    np.testing.assert_array_equal(out["a"], [np.nan, 1.25, 1.0, 1.0])
    np.testing.assert_array_equal(out["b"], [0.2, 0.75, 0.5, np.inf])


# -- a model of some of the theory's targets -----------------------------------------------------
def test_consistent_regressor_of_one_target_uses_only_the_repairs_on_that_target():
    # the budget involves b, which the model does not predict; the monotone profile is b's
    theory = _budget_theory(Monotonic("b", wrt="z", within="g"))
    X = pd.DataFrame({"total": np.linspace(1, 2, 6), "z": np.arange(6.0), "g": 0})
    a = np.linspace(-5, 15, 6)  # bounds (0, 10)
    model = ConsistentRegressor(_Fixed(a), theory, targets=["a"], prefit=True).fit()
    np.testing.assert_array_equal(model.predict(X), np.clip(a, 0, 10))
    assert model.repair_report_["repair"].tolist() == ["ProjectToBounds"]
    assert default_repairs(theory, targets=["a"]) == (ProjectToBounds(),)
    assert default_repairs(theory, targets=["b"]) == (ProjectToBounds(), IsotonicProjection())
    both = (ConservationProjection(), ProjectToBounds(), IsotonicProjection())
    assert default_repairs(theory) == default_repairs(theory, targets=["a", "b"]) == both


def test_consistent_regressor_refuses_targets_the_theory_does_not_have():
    theory = _budget_theory()
    X = pd.DataFrame({"total": np.linspace(1, 2, 6)})
    model = ConsistentRegressor(LinearRegression(), theory, targets=["a", "c"])
    with pytest.raises(
        DataError, match=r"'c' is not a target of the theory; targets: \['a', 'b'\]"
    ):
        model.fit(X, np.column_stack([X["total"], X["total"]]))


# -- configuration of the repairs ----------------------------------------------------------------
def test_conservation_projection_takes_one_equation_name_as_a_string():
    theory = _budget_theory(Equation("a == 2*b", name="ratio"))
    X = pd.DataFrame({"total": [3.0, 6.0]})
    ctx = RepairContext(theory, X, ("a", "b"))
    preds = {"a": np.array([1.0, 1.0]), "b": np.array([1.0, 1.0])}
    assert ConservationProjection("budget") == ConservationProjection(("budget",))
    assert ConservationProjection(["budget", "ratio"]) == ConservationProjection(
        ("budget", "ratio")
    )
    out = ConservationProjection("budget").apply(ctx, preds)
    np.testing.assert_allclose(out["a"] + out["b"], X["total"], rtol=0, atol=1e-12)
    with pytest.raises(TheoryError, match=r"ConservationProjection: equations must be .* got 3"):
        ConservationProjection(3)
    with pytest.raises(TheoryError, match=r"ConservationProjection: equations must be .* got \[1"):
        ConservationProjection([1, "budget"])


# -- audit of a model of several targets ----------------------------------------------------------
def test_interactions_are_audited_on_every_target_not_only_the_first():
    theory = Theory(
        [Variable("a"), Variable("b"), Variable("u", role="target"), Variable("v", role="target")],
        constraints=[Interactions([["a"], ["b"]], name="ix")],
    )
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"a": rng.uniform(1, 2, 20), "b": rng.uniform(1, 2, 20)})
    additive_then_product = lambda X: np.column_stack([X["a"] + X["b"], X["a"] * X["b"]])  # noqa: E731
    result = audit(additive_then_product, theory, X)["ix"]
    assert (result.n_checks, result.n_violations) == (40, 20)  # every row of v, none of u
    assert "for each of 2 targets" in result.note
    product_then_additive = lambda X: np.column_stack([X["a"] * X["b"], X["a"] + X["b"]])  # noqa: E731
    assert audit(product_then_additive, theory, X)["ix"].n_violations == 20
    only_u = audit(lambda X: X["a"] + X["b"], theory, X, targets=["u"])["ix"]
    assert (only_u.n_checks, only_u.n_violations) == (20, 0)
    assert "targets" not in only_u.note


# -- inverting a relation ------------------------------------------------------------------------
@pytest.mark.parametrize("outlier", [30.0, 1e5])
def test_density_projection_is_not_thrown_off_by_a_far_outlier_in_another_profile(outlier):
    # density of water peaks near 4 degC: 6 degC above 2 degC is an inversion, repaired on
    # each side of the peak (a little above 6 and 2 degC); a wild prediction in another
    # profile must not hide that peak from the inversion (it sent both rows to 0 degC)
    lake = Theory.from_toml(LAKE_TOML)
    X = pd.DataFrame({"DateTime": ["a", "a", "b"], "Depth": [0.0, 1.0, 0.0]})
    raw = np.array([6.0, 2.0, outlier])
    out = IsotonicProjection().apply(
        RepairContext(lake, X, ("Observed_temp",)), {"Observed_temp": raw}
    )
    t = out["Observed_temp"]
    assert 6.0 < t[0] < 6.2 and 2.0 < t[1] < 2.2
    assert t[2] == outlier


def test_audit_binds_a_y_frame_by_name_and_refuses_missing_observations():
    theory = Theory([Variable("x"), Variable("a", role="target"), Variable("b", role="target")])
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
    model = _Fixed(np.column_stack([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]))
    swapped = pd.DataFrame({"b": [10.0, 20.0, 30.0], "a": [1.0, 2.0, 3.0]})
    assert audit(model, theory, X, y=swapped).rmse == 0.0  # reordered by name
    renamed = pd.DataFrame({"a": [1.0, 2.0, 3.0], "c": [10.0, 20.0, 30.0]})
    with pytest.raises(DataError, match=r"y have the columns \['a', 'c'\]; expected the targets"):
        audit(model, theory, X, y=renamed)  # was taken by position
    with pytest.raises(
        DataError, match=r"y has 1 missing or infinite value\(s\) \(first at row 1\)"
    ):
        audit(model, theory, X, y=swapped.assign(a=[1.0, np.nan, 3.0]))  # was an rmse of NaN


# -- bounds on a relation linear in one target -----------------------------------------------
def _cooling_theory(extra=()):
    return Theory(
        [
            Variable("t", "min"),
            Variable("T_room", "degC"),
            Variable("T", "degC", bounds=(0, 100), role="target"),
        ],
        relations=[Relation("excess", "T - T_room"), Relation("heat", "(T - T_room)**2"), *extra],
        constraints=[
            Bounds("excess", lower=0.0, name="above_room"),
            Bounds("heat", upper=1.0, name="little_heat"),  # not linear in T: left to the audit
        ],
    )


def test_project_to_bounds_enforces_bounds_on_a_relation_linear_in_the_target():
    theory = _cooling_theory()
    X = pd.DataFrame({"t": [0.0, 1.0, 2.0, 3.0], "T_room": [20.0, 20.0, np.nan, 99.5]})
    preds = {"T": np.array([25.0, 18.0, 18.0, 98.0])}
    out = ProjectToBounds().apply(RepairContext(theory, X, ("T",)), preds)["T"]
    # 18 < 20 is lifted to T_room; a row without T_room is left as it is; the target's own
    # bounds (T <= 100) still hold; 'heat' is not repaired (25 stays, (25 - 20)^2 > 1)
    np.testing.assert_array_equal(out, [25.0, 20.0, 18.0, 99.5])
    model = ConsistentRegressor(LinearRegression(), theory).fit(
        X.iloc[[0, 1, 3]], np.array([25.0, 18.0, 98.0])
    )
    report = audit(model, theory, X.iloc[[0, 1, 3]])
    assert report["above_room"].n_violations == 0 and report["little_heat"].n_violations > 0


def test_project_to_bounds_flips_the_limits_of_a_decreasing_relation():
    theory = Theory(
        [Variable("x"), Variable("y", role="target")],
        relations=[Relation("margin", "2*x - 4*y")],
        constraints=[Bounds("margin", lower=0.0, upper=2.0)],  # x/2 - 1/2 <= y <= x/2
    )
    X = pd.DataFrame({"x": [2.0, 2.0, 2.0]})
    out = ProjectToBounds().apply(
        RepairContext(theory, X, ("y",)), {"y": np.array([-1.0, 0.7, 3.0])}
    )
    np.testing.assert_allclose(out["y"], [0.5, 0.7, 1.0])
