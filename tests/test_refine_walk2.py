"""Second review of ``tgds.refine``: parameters in linear equations, isotonic projection of
constraints without groups, and the audit of equations at rows where every term is ~0."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

from tgds.exceptions import TheoryError
from tgds.refine import (
    ConservationProjection,
    ConsistentRegressor,
    IsotonicProjection,
    RepairContext,
    audit,
    default_repairs,
)
from tgds.refine._repairs import linear_in_targets
from tgds.theory import Equation, Monotonic, Parameter, Theory, Variable

G = 9.81


# -- ConservationProjection with parameters ------------------------------------------------
def _projectile(equation: str) -> Theory:
    return Theory(
        [
            Variable("v0", "m/s"),
            Variable("theta", "rad"),
            Variable("R", "m", role="target"),
            Variable("H", "m", role="target"),
        ],
        parameters=[Parameter("g", "m/s^2", value=G)],
        constraints=[Equation(equation, name="apex")],
    )


def _launches(n: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"v0": rng.uniform(5, 20, n), "theta": rng.uniform(0.2, 1.3, n)})
    v0, th = X["v0"].to_numpy(), X["theta"].to_numpy()
    Y = pd.DataFrame({"R": v0**2 * np.sin(2 * th) / G, "H": v0**2 * np.sin(th) ** 2 / (2 * G)})
    return X, Y


def _apex(X: pd.DataFrame) -> np.ndarray:
    return X["v0"].to_numpy() ** 2 * np.sin(X["theta"].to_numpy()) ** 2 / (2 * G)


def test_conservation_projection_substitutes_parameter_values_on_the_right_hand_side():
    theory = _projectile("H == v0**2*sin(theta)**2/(2*g)")
    X, Y = _launches()
    model = ConsistentRegressor(RandomForestRegressor(n_estimators=10, random_state=0), theory)
    out = model.fit(X, Y).predict(X)  # was: DataError "needs the column(s) ['g']"
    np.testing.assert_allclose(out[:, 1], _apex(X), rtol=1e-12)
    raw = model.predict_raw(X)
    np.testing.assert_array_equal(out[:, 0], raw[:, 0])  # R is not in the equation
    assert model.repair_report_["repair"].tolist() == ["ConservationProjection", "ProjectToBounds"]


def test_a_parameter_with_a_value_is_a_constant_coefficient():
    theory = _projectile("g*H == v0**2*sin(theta)**2/2")  # was: "not linear in the targets"
    coeffs, _ = linear_in_targets(theory, theory.constraints[0], ("R", "H"))
    assert coeffs == pytest.approx([0.0, G])
    assert isinstance(default_repairs(theory)[0], ConservationProjection)
    X, _ = _launches(5)
    ctx = RepairContext(theory, X, ("R", "H"))
    out = ConservationProjection("apex").apply(ctx, {"R": np.zeros(5), "H": np.zeros(5)})
    np.testing.assert_allclose(out["H"], _apex(X), rtol=1e-12)


# -- IsotonicProjection of a Monotonic without within ----------------------------------------
def _ungrouped() -> Theory:
    return Theory(
        [Variable("x"), Variable("z"), Variable("y", role="target")],
        constraints=[Monotonic("y", wrt="x", name="rising"), Monotonic("y", wrt="z", name="up")],
    )


def test_isotonic_projection_warns_once_of_constraints_without_within():
    theory = _ungrouped()
    X = pd.DataFrame({"x": np.linspace(0, 1, 40), "z": np.linspace(0, 2, 40)})
    y = np.sin(8 * X["x"].to_numpy())  # falls for x > pi/16: the audit sees violations
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = IsotonicProjection().apply(RepairContext(theory, X, ("y",)), {"y": y})
    assert len(caught) == 1  # one per apply, naming both constraints, not one per row
    message = str(caught[0].message)
    assert caught[0].category is UserWarning
    assert "'rising' (along 'x'), 'up' (along 'z')" in message
    assert "needs 'within'" in message and "got none" in message
    np.testing.assert_array_equal(out["y"], y)  # skipped: nothing to project onto

    smooth = make_pipeline(PolynomialFeatures(5), LinearRegression())
    model = ConsistentRegressor(smooth, theory, repairs=[IsotonicProjection()]).fit(X, y)
    with pytest.warns(UserWarning, match="skipped the monotonic constraint"):
        model.predict(X)
    assert model.repair_report_["rows_changed"].tolist() == [0]
    with pytest.warns(UserWarning, match="skipped the monotonic constraint"):
        assert audit(model, theory, X)["rising"].n_violations > 0

    grouped = Theory(  # every constraint has within: nothing to warn of
        [Variable("z"), Variable("site", role="group"), Variable("y", role="target")],
        constraints=[Monotonic("y", wrt="z", within="site")],
    )
    X = pd.DataFrame({"z": [0.0, 1.0, 2.0], "site": ["a", "a", "a"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = IsotonicProjection().apply(RepairContext(grouped, X, ("y",)), {"y": np.ones(3)})
    np.testing.assert_array_equal(out["y"], np.ones(3))


def test_isotonic_projection_names_why_a_constraint_without_within_cannot_be_chosen():
    theory = _ungrouped()
    ctx = RepairContext(theory, pd.DataFrame({"x": [0.0, 1.0], "z": [0.0, 1.0]}), ("y",))
    with pytest.raises(TheoryError, match="named 'rising' \\(it has none: a derivative sign"):
        IsotonicProjection("rising").apply(ctx, {"y": np.zeros(2)})


# -- the audit of an equation where every term is ~0 ------------------------------------------
def _heat() -> Theory:
    return Theory(
        [Variable("x", "m"), Variable("t", "s"), Variable("u", "K", role="target")],
        parameters=[Parameter("alpha", "m^2/s", value=0.1)],
        constraints=[Equation("D(u, t) == alpha*D(u, x, 2)", name="heat")],
    )


def _grid(length: float, nx: int) -> pd.DataFrame:
    xx, tt = np.meshgrid(np.linspace(0, length, nx), np.linspace(0, 2, 11))
    return pd.DataFrame({"x": xx.ravel(), "t": tt.ravel()})


def _decay(length: float, rate: float = 1.0):
    k = rate * 0.1 * (np.pi / length) ** 2

    def u(X: pd.DataFrame) -> np.ndarray:
        x, t = X["x"].to_numpy(), X["t"].to_numpy()
        return 30 * np.exp(-k * t) * np.sin(np.pi * x / length)

    return u


@pytest.mark.parametrize(
    ("length", "nx", "step"), [(1.0, 21, 1e-3), (2.7, 21, 1e-3), (13.0, 37, 1e-3), (1.0, 37, 1e-4)]
)
def test_an_exact_heat_solution_does_not_violate_the_heat_equation_and_a_wrong_one_does(
    length, nx, step
):
    X = _grid(length, nx)  # with the boundaries x = 0 and x = L, where u ~ 1e-15
    result = audit(_decay(length), _heat(), X, step=step)["heat"]
    assert result.n_checks == len(X)
    assert result.n_violations == 0, result.worst[:3]  # was: ~1.4 at x = L
    assert "max(rms(terms), " in result.note
    interior = int(((X["x"] > 0) & (X["x"] < length)).sum())
    for rate in (1.01, 2.0, 0.5):
        wrong = audit(_decay(length, rate), _heat(), X, step=step)["heat"]
        # at x = 0 and x = L the terms are 0 or round-off: there it cannot be told
        assert wrong.n_violations >= interior, rate
        assert wrong.worst[0][1] > 1e-3


def test_round_off_at_a_near_zero_row_is_not_a_violation_but_a_genuine_residual_is():
    theory = Theory(
        [Variable("x"), Variable("y", role="target")],
        constraints=[Equation("y == sin(pi*x)", name="wave")],
    )
    X = pd.DataFrame({"x": np.linspace(0, 1, 11)})

    def mirrored(Z: pd.DataFrame) -> np.ndarray:  # sin(pi - a) = sin(a), to round-off
        return np.sin(np.pi * (1 - Z["x"].to_numpy()))

    exact = audit(mirrored, theory, X)["wave"]
    assert exact.n_violations == 0  # was: rows 0 and 10, sin(pi) ~ 1e-16 against 0
    off = audit(lambda Z: mirrored(Z) + 1e-6 * (Z["x"].to_numpy() == 1), theory, X)["wave"]
    assert [rows for rows, _ in off.violations] == [(10,)]
