"""PhysicsModelRegressor calibrates the physics model's unknown parameters by least squares.

References: noise-free data give the generating parameters back; for a model linear in its
parameters the estimates and standard errors are those of ordinary least squares,
``(XᵀX)⁻¹Xᵀy`` and ``sqrt(diag(s²(XᵀX)⁻¹))``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import tgds
from tgds.cli import app
from tgds.exceptions import DataError, TheoryError
from tgds.models import PhysicsModelRegressor
from tgds.selection import compare, complexity
from tgds.theory import LogNormal, Parameter, PhysicsModel, Theory, Variable


def _cooling(k: Parameter | None = None, **extra: Parameter) -> Theory:
    """Newton cooling ``T = T_room + (T0 - T_room) exp(-k t)``, k to be calibrated."""
    k = k or Parameter("k", "1/s", bounds=(0, 1))
    return Theory(
        [
            Variable("t", "s"),
            Variable("T_room", "K"),
            Variable("T0", "K"),
            Variable("T", "K", role="target"),
        ],
        parameters=[k, *extra.values()],
        physics_model=PhysicsModel(outputs={"T": "T_room + (T0 - T_room)*exp(-k*t)"}),
    )


def _cups(k: float = 0.07, noise: float = 0.0, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.tile(np.arange(0.0, 40.0, 4.0), 5)
    room = np.repeat(rng.uniform(290, 300, 5), 10)
    start = np.repeat(rng.uniform(330, 360, 5), 10)
    X = pd.DataFrame({"t": t, "T_room": room, "T0": start})
    y = room + (start - room) * np.exp(-k * t) + noise * rng.standard_normal(t.size)
    return X, y


def test_noise_free_data_give_the_generating_rate():
    X, y = _cups(k=0.07)
    model = PhysicsModelRegressor(theory=_cooling()).fit(X, y)
    assert model.parameters_ == pytest.approx({"k": 0.07}, rel=1e-8)
    assert model.n_parameters_ == 1 and complexity(model) == 1
    np.testing.assert_allclose(model.predict(X), y, atol=1e-6)


def test_a_linear_model_gives_the_ordinary_least_squares_estimates_and_standard_errors():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, 40)
    y = 1.5 + 0.8 * x + rng.normal(0, 0.5, x.size)
    theory = Theory(
        [Variable("x", "m"), Variable("y", "m", role="target")],
        parameters=[Parameter("a", "m"), Parameter("b", "1")],
        physics_model=PhysicsModel(outputs={"y": "a + b*x"}),
    )
    model = PhysicsModelRegressor(theory=theory).fit(pd.DataFrame({"x": x}), y)
    design = np.column_stack([np.ones_like(x), x])
    beta, residual, *_ = np.linalg.lstsq(design, y, rcond=None)
    s2 = residual[0] / (x.size - 2)
    std = np.sqrt(np.diag(s2 * np.linalg.inv(design.T @ design)))
    assert [model.parameters_["a"], model.parameters_["b"]] == pytest.approx(beta, rel=1e-7)
    assert [model.parameter_std_["a"], model.parameter_std_["b"]] == pytest.approx(std, rel=1e-5)


def test_noisy_data_give_a_rate_within_its_standard_error():
    X, y = _cups(k=0.07, noise=0.5, seed=1)
    model = PhysicsModelRegressor(theory=_cooling()).fit(X, y)
    assert 0 < model.parameter_std_["k"] < 0.01
    assert abs(model.parameters_["k"] - 0.07) < 3 * model.parameter_std_["k"]


def test_the_estimate_stays_within_the_bounds_and_one_on_a_bound_has_no_standard_error():
    X, y = _cups(k=0.07)
    theory = _cooling(Parameter("k", "1/s", bounds=(0.1, 1.0)))
    model = PhysicsModelRegressor(theory=theory).fit(X, y)
    assert model.parameters_["k"] == pytest.approx(0.1, abs=1e-9)
    assert math.isnan(model.parameter_std_["k"])


def test_a_lognormal_prior_keeps_the_rate_positive_and_gives_the_start():
    X, y = _cups(k=0.07)
    theory = _cooling(Parameter("k", "1/s", prior=LogNormal(math.log(0.05), 1.0)))
    assert PhysicsModelRegressor(theory=theory).fit(X, y).parameters_["k"] == pytest.approx(0.07)


def test_calibrate_chooses_the_parameters():
    X, y = _cups(k=0.07)
    known = Parameter("k", "1/s", value=0.05, bounds=(0, 1))  # a value and bounds: a start
    assert PhysicsModelRegressor(theory=_cooling(known)).fit(X, y).parameters_ == {}
    all_ = PhysicsModelRegressor(theory=_cooling(known), calibrate="all").fit(X, y)
    assert all_.parameters_ == pytest.approx({"k": 0.07})
    named = PhysicsModelRegressor(theory=_cooling(known), calibrate=["k"]).fit(X, y)
    assert named.parameters_ == pytest.approx({"k": 0.07})
    with pytest.raises(TheoryError, match=r"calibrate names \['c'\], which the physics model"):
        PhysicsModelRegressor(theory=_cooling(), calibrate=["c"]).fit(X, y)
    with pytest.raises(TheoryError, match=r"\['k'\], which have no value .*\(calibrate=None\)"):
        PhysicsModelRegressor(theory=_cooling(), calibrate=None).fit(X, y)
    with pytest.raises(ValueError, match="'calibrate' parameter of PhysicsModelRegressor"):
        PhysicsModelRegressor(theory=_cooling(), calibrate="some").fit(X, y)


def test_observations_are_checked():
    X, y = _cups()
    model = PhysicsModelRegressor(theory=_cooling())
    with pytest.raises(
        DataError, match=r"\['k'\] are calibrated on the observed \['T'\]; call fit"
    ):
        model.fit(X)
    with pytest.raises(DataError, match=r"y has 1 row\(s\) with a missing .* \(first at row 3\)"):
        model.fit(X, np.where(np.arange(y.size) == 3, np.nan, y))
    with pytest.raises(DataError, match=r"y must have shape \(50,\) .*; got \(49,\)"):
        model.fit(X, y[:-1])
    with pytest.raises(DataError, match="y must hold numbers"):
        model.fit(X, ["warm"] * y.size)


def test_a_model_not_finite_at_the_start_is_refused():
    theory = Theory(
        [Variable("x", "1"), Variable("y", "1", role="target")],
        parameters=[Parameter("c", "1")],  # starts at 1: sqrt(x - 1) is NaN for x < 1
        physics_model=PhysicsModel(outputs={"y": "sqrt(x - c)"}),
    )
    X = pd.DataFrame({"x": [0.5, 2.0, 3.0]})
    with pytest.raises(DataError, match=r"not finite at the starting values \{'c': 1.0\} on 1 row"):
        PhysicsModelRegressor(theory=theory).fit(X, [1.0, 1.0, 1.0])


def test_two_targets_in_different_units_share_a_parameter():
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 2, 30)
    theory = Theory(
        [
            Variable("x", "m"),
            Variable("A", "m^2", role="target"),
            Variable("L", "km", role="target"),
        ],
        parameters=[Parameter("s", "1", bounds=(0, 10))],
        physics_model=PhysicsModel(outputs={"A": "s*x**2", "L": "s*x"}),
    )
    y = np.column_stack([2.5 * x**2, 2.5 * x / 1000])
    model = PhysicsModelRegressor(theory=theory).fit(pd.DataFrame({"x": x}), y)
    assert model.parameters_ == pytest.approx({"s": 2.5}, rel=1e-8)
    np.testing.assert_allclose(model.predict(pd.DataFrame({"x": x})), y, rtol=1e-8)


def test_save_and_load_keep_the_calibrated_parameters(tmp_path):
    X, y = _cups(k=0.07, noise=0.5)
    model = PhysicsModelRegressor(theory=_cooling()).fit(X, y)
    tgds.save(model, tmp_path / "m.tgds")
    back = tgds.load(tmp_path / "m.tgds")
    assert back.parameters_ == model.parameters_
    assert back.parameter_std_ == model.parameter_std_
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


def test_a_saved_model_with_missing_parameter_values_is_refused(tmp_path, forge_meta):
    X, y = _cups(k=0.07)
    tgds.save(PhysicsModelRegressor(theory=_cooling()).fit(X, y), tmp_path / "m.tgds")

    def drop_k(meta):
        meta["fitted"]["parameters"] = {}

    path = tmp_path / "m.tgds"
    path.write_bytes(forge_meta(path.read_bytes(), drop_k))
    with pytest.raises(DataError, match=r"holds parameters \{\}; expected a number for each"):
        tgds.load(tmp_path / "m.tgds")


EXPERIMENT = """
name = "cups"
[data]
path = "cups.csv"
[theory]
path = "cooling.toml"
[validation]
kind = "holdout"
time = "t"
[[models]]
name = "physics"
kind = "physics"
{calibrate}
[outputs]
dir = "runs"
"""


def _experiment(folder, calibrate: str = "") -> str:
    _cooling().to_toml(folder / "cooling.toml")
    X, y = _cups(k=0.07, noise=0.2)
    X.assign(T=y).to_csv(folder / "cups.csv", index=False)
    (folder / "exp.toml").write_text(EXPERIMENT.replace("{calibrate}", calibrate))
    return str(folder / "exp.toml")


def test_a_run_calibrates_the_physics_model_and_predicts_with_it(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["run", _experiment(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    (unit,) = (run / "units").iterdir()
    fitted = tgds.load(unit / "model.tgds")
    assert fitted.parameters_["k"] == pytest.approx(0.07, abs=0.005)
    result = runner.invoke(app, ["predict", str(run), str(tmp_path / "cups.csv")])
    assert result.exit_code == 0, result.output


def test_a_run_that_does_not_calibrate_an_unknown_parameter_is_refused(tmp_path):
    result = CliRunner().invoke(
        app, ["run", _experiment(tmp_path, 'calibrate = "none"'), "--quiet"]
    )
    assert result.exit_code == 2, result.output
    assert "[[models]] #1 (physics) key 'kind'" in result.output
    assert "['k'], which have no value" in result.output
    result = CliRunner().invoke(app, ["run", _experiment(tmp_path, "calibrate = 3"), "--quiet"])
    assert result.exit_code == 2 and "key 'calibrate'" in result.output, result.output


def _projectile() -> tuple[Theory, pd.DataFrame, pd.DataFrame]:
    """Range and height of a projectile, two targets of one physics model with g unknown."""
    theory = Theory(
        [
            Variable("v0", "m/s"),
            Variable("theta", "1"),
            Variable("R", "m", role="target"),
            Variable("H", "m", role="target"),
        ],
        parameters=[Parameter("g", "m/s^2", bounds=(1, 30))],
        physics_model=PhysicsModel(
            outputs={"R": "v0**2*sin(2*theta)/g", "H": "v0**2*sin(theta)**2/(2*g)"}
        ),
    )
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"v0": rng.uniform(5, 30, 40), "theta": rng.uniform(0.2, 1.3, 40)})
    Y = pd.DataFrame(
        {
            "R": X.v0**2 * np.sin(2 * X.theta) / 9.81,
            "H": X.v0**2 * np.sin(X.theta) ** 2 / (2 * 9.81),
        }
    )
    return theory, X, Y


def test_observations_of_several_targets_are_matched_by_name():
    # y with the columns [H, R] was taken by position and calibrated g = 27.3
    theory, X, Y = _projectile()
    model = PhysicsModelRegressor(theory=theory)
    assert model.fit(X, Y[["H", "R"]]).parameters_ == pytest.approx({"g": 9.81}, rel=1e-8)
    with pytest.raises(DataError, match=r"y has the columns \['R', 'height'\]; expected"):
        model.fit(X, Y.rename(columns={"H": "height"}))


def test_targets_chooses_the_outputs_predicted(tmp_path):
    theory, X, Y = _projectile()
    model = PhysicsModelRegressor(theory=theory, targets="H").fit(X, Y["H"])
    assert model.targets_ == ("H",) and model.predict(X).shape == (40,)
    assert model.parameters_ == pytest.approx({"g": 9.81}, rel=1e-8)
    with pytest.raises(TheoryError, match=r"some of the physics model's outputs \['R', 'H'\]"):
        PhysicsModelRegressor(theory=theory, targets=["D"]).fit(X, Y["H"])
    tgds.save(model, tmp_path / "m.tgds")
    assert tgds.load(tmp_path / "m.tgds").targets_ == ("H",)


def test_compare_matches_the_columns_of_y_to_the_targets_by_name():
    theory, X, Y = _projectile()
    table = compare({"physics": PhysicsModelRegressor(theory=theory)}, X, Y[["H", "R"]], theory, 2)
    assert table.folds["rmse"].max() < 1e-6  # was 67 with the columns taken by position


def test_a_run_of_one_target_of_a_two_target_physics_model(tmp_path):
    # the physics model predicted both R and H, and the fold failed on the shape of y
    theory, X, Y = _projectile()
    theory.to_toml(tmp_path / "cooling.toml")
    X.assign(R=Y.R, H=Y.H, t=np.arange(len(X), dtype=float)).to_csv(
        tmp_path / "cups.csv", index=False
    )
    text = EXPERIMENT.replace("{calibrate}", "").replace(
        'name = "cups"', 'name = "p"\ntarget = "H"'
    )
    (tmp_path / "exp.toml").write_text(text)
    result = CliRunner().invoke(app, ["run", str(tmp_path / "exp.toml"), "--quiet"])
    assert result.exit_code == 0, result.output
    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    (unit,) = (run / "units").iterdir()
    fitted = tgds.load(unit / "model.tgds")
    assert fitted.targets_ == ("H",)
    assert fitted.parameters_ == pytest.approx({"g": 9.81}, rel=1e-6)
