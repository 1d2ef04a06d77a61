"""compare(), the scorers and the complexity measure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Lasso, LinearRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeRegressor

from tgds.exceptions import DataError
from tgds.models import PhysicsModelRegressor, TheoryGuidedRegressor
from tgds.refine import ConsistentRegressor
from tgds.selection import (
    BlockedTimeSplit,
    compare,
    complexity,
    consistency_scorer,
    simplicity_scorer,
    summarise,
)
from tgds.theory import Monotonic, PhysicsModel, Theory, Variable


class Wiggly(RegressorMixin, BaseEstimator):
    """A line through the data plus a wiggle that makes it fall in places (inconsistent)."""

    def fit(self, X, y):
        self.line_ = LinearRegression().fit(X[["x"]], y)
        return self

    def predict(self, X):
        return self.line_.predict(X[["x"]]) + 0.2 * np.sin(30 * X["x"].to_numpy())


@pytest.fixture(scope="module")
def setting():
    """y rises with x; a 'simulator' column is a biased but monotone physics model."""
    theory = Theory(
        variables=[
            Variable("t", "day", role="time"),
            Variable("x", "m"),
            Variable("sim", "1"),
            Variable("y", "1", role="target"),
        ],
        constraints=[Monotonic("y", wrt="x", name="rising")],
        physics_model=PhysicsModel(outputs={"y": "sim"}),
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 120)
    X = pd.DataFrame({"t": np.arange(120), "x": x, "sim": 1.2 * x})
    y = x + 0.3 * np.sin(20 * x) * 0.1 + rng.normal(0, 0.05, 120)
    return theory, X, y


def test_compare_ranks_accuracy_consistency_and_simplicity(setting):
    theory, X, y = setting
    pick = ColumnTransformer([("x", "passthrough", ["x"])])
    models = {
        "physics": PhysicsModelRegressor(theory=theory),
        "linear": make_pipeline(pick, LinearRegression()),
        "wiggly": Wiggly(),
    }
    result = compare(models, X, y, theory, BlockedTimeSplit(n_splits=3, time="t"))
    assert len(result.folds) == 9 and set(result.folds["fold"]) == {0, 1, 2}
    s = result.summary
    assert s.loc["physics", "complexity"] == 0 and s.loc["linear", "complexity"] == 2
    assert s.loc["wiggly", "consistency"] < 0.9
    assert s.loc["linear", "consistency"] == s.loc["physics", "consistency"] == 1.0
    assert result.first_on("simplicity") == "physics"
    assert result.first_on("accuracy") == "linear"
    assert s.loc["wiggly", "rank_consistency"] == 3 and np.isnan(s.loc["wiggly", "complexity"])
    assert list(s.index) == sorted(s.index, key=lambda m: (s.loc[m, "rank"], s.loc[m, "rmse"]))
    assert "rank" in str(result) and "<table" in result._repr_html_()
    with pytest.raises(DataError, match="criterion"):
        result.first_on("speed")


def test_compare_passes_fit_params_and_runs_folds_in_parallel(setting):
    theory, X, y = setting
    net = TheoryGuidedRegressor(theory=theory, inputs=["x"], hidden=(8,), epochs=5, random_state=0)
    cv = KFold(2)
    serial = compare({"nn": net}, X, y, theory, cv, fit_params={"nn": {"X_unlabeled": X}})
    parallel = compare(
        {"nn": net}, X, y, theory, cv, fit_params={"nn": {"X_unlabeled": X}}, n_jobs=2
    )
    np.testing.assert_allclose(serial.folds["rmse"], parallel.folds["rmse"])
    assert serial.summary.loc["nn", "complexity"] == 8 * 1 + 8 + 8 + 1


class WeightedLine(RegressorMixin, BaseEstimator):
    def fit(self, X, y, sample_weight=None):
        self.line_ = LinearRegression().fit(X[["x"]], y, sample_weight=sample_weight)
        return self

    def predict(self, X):
        return self.line_.predict(X[["x"]])


def test_compare_cuts_per_row_fit_params_to_the_training_rows(setting):
    theory, X, y = setting
    w = np.where(X["x"] > 0.5, 10.0, 0.1)  # a weighted fit differs from an unweighted one
    for weights in (w, pd.Series(w, index=X.index + 100)):
        result = compare(
            {"line": WeightedLine()},
            X,
            y,
            theory,
            KFold(2),
            fit_params={"line": {"sample_weight": weights}},
        )
        for k, (train, test) in enumerate(KFold(2).split(X)):
            line = LinearRegression().fit(X[["x"]].iloc[train], y[train], sample_weight=w[train])
            rmse = np.sqrt(np.mean((line.predict(X[["x"]].iloc[test]) - y[test]) ** 2))
            assert result.folds.loc[result.folds["fold"] == k, "rmse"].item() == pytest.approx(rmse)


def test_compare_rejects_bad_input(setting):
    theory, X, y = setting
    model = {"linear": LinearRegression()}
    with pytest.raises(DataError, match="Theory"):
        compare(model, X, y, object(), KFold(2))
    with pytest.raises(DataError, match="non-empty dict"):
        compare({}, X, y, theory, KFold(2))
    with pytest.raises(DataError, match="pandas DataFrame"):
        compare(model, X.to_numpy(), y, theory, KFold(2))
    with pytest.raises(DataError, match="y has 3 rows"):
        compare(model, X, y[:3], theory, KFold(2))
    with pytest.raises(DataError, match=r"y must hold numbers, one per row of X; got list \("):
        compare(model, X, ["warm"] * len(X), theory, KFold(2))
    with pytest.raises(DataError, match=r"one target value per row of X \(120\); got the scalar"):
        compare(model, X, 3.0, theory, KFold(2))
    with pytest.raises(DataError, match="unknown model"):
        compare(model, X, y, theory, KFold(2), fit_params={"other": {}})
    with pytest.raises(DataError, match="'linear' has int 3"):
        compare(model, X, y, theory, KFold(2), fit_params={"linear": 3})
    with pytest.raises(DataError, match="cv must be a scikit-learn splitter"):
        compare(model, X, y, theory, "four")
    assert len(compare(model, X[["x"]], y, theory, 4).folds) == 4  # a number of folds


def test_compare_and_the_scorer_take_a_model_of_one_of_two_targets():
    theory = Theory(
        variables=[
            Variable("x", "m"),
            Variable("a", "1", bounds=(0, 10), role="target"),
            Variable("b", "1", bounds=(0, 1), role="target"),
        ],
        constraints=[Monotonic("a", wrt="x", name="a_rises"), Monotonic("b", wrt="x")],
    )
    X = pd.DataFrame({"x": np.linspace(0, 1, 40)})
    y = 5 * X["x"]
    result = compare({"lin": LinearRegression()}, X, y, theory, KFold(2), targets=["a"])
    assert result.summary.loc["lin", "consistency"] == 1.0
    scorer = consistency_scorer(theory, targets=["a"])
    scores = cross_validate(LinearRegression(), X, y, cv=KFold(2), scoring=scorer)
    assert list(scores["test_score"]) == [1.0, 1.0]
    with pytest.raises(DataError, match=r"expected \(20, 2\).*pass targets"):
        compare({"lin": LinearRegression()}, X, y, theory, KFold(2))


def test_summary_r2_is_nan_where_a_fold_failed():
    folds = pd.DataFrame(
        {
            "model": ["ok", "ok", "bad", "bad"],
            "fold": [0, 1, 0, 1],
            "rmse": [1.0, 1.0, 1.0, np.nan],
            "mae": [1.0, 1.0, 1.0, np.nan],
            "r2": [0.5, 0.5, 0.9, np.nan],
            "consistency": [1.0, 1.0, 1.0, np.nan],
            "violation_rate": [0.0, 0.0, 0.0, np.nan],
            "complexity": [2.0, 2.0, 2.0, 2.0],
            "fit_s": [0.1, 0.1, 0.1, 0.1],
        }
    )
    s = summarise(folds)
    assert np.isnan(s.loc["bad", "r2"]) and s.loc["ok", "r2"] == 0.5
    assert list(s.index) == ["ok", "bad"]


def test_consistency_scorer_in_cross_validate_and_grid_search(setting):
    theory, X, y = setting
    pick = ColumnTransformer([("x", "passthrough", ["x"])])
    scorer = consistency_scorer(theory)
    scores = cross_validate(
        make_pipeline(pick, DecisionTreeRegressor(random_state=0)),
        X,
        y,
        cv=KFold(3),
        scoring=scorer,
    )
    # a deep tree is piecewise constant: finite differences catch its downward steps only sometimes
    assert (scores["test_score"] <= 1.0).all() and (scores["test_score"] < 1.0).any()
    grid = GridSearchCV(
        make_pipeline(pick, DecisionTreeRegressor(random_state=0)),
        {"decisiontreeregressor__max_depth": [1, 8]},
        cv=KFold(3),
        scoring=scorer,
    )
    grid.fit(X, y)
    assert grid.best_params_ == {"decisiontreeregressor__max_depth": 1}  # a stump is monotone here
    assert simplicity_scorer(grid.best_estimator_) == -2
    with pytest.raises(DataError):
        consistency_scorer("theory")


def test_consistency_scorer_names_unknown_constraints_and_targets_at_once(setting):
    """Raised inside GridSearchCV, these errors only turned every score into NaN."""
    theory, _, _ = setting
    with pytest.raises(DataError, match=r"unknown constraints \['risng'\]; .* \['rising'\]"):
        consistency_scorer(theory, constraints=["risng"])
    with pytest.raises(DataError, match=r"unknown targets \['T'\]; the theory's targets: \['y'\]"):
        consistency_scorer(theory, targets=["T"])
    with pytest.raises(DataError, match=r"a list of names, e.g. \['rising'\]; got the string"):
        consistency_scorer(theory, constraints="rising")
    with pytest.raises(DataError, match=r"targets must be a list of names, e.g. \['y'\]"):
        consistency_scorer(theory, targets="y")
    assert callable(consistency_scorer(theory, constraints=["rising"], targets=["y"]))


def test_complexity_per_family():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    y = X[:, 0] + 0.1 * rng.normal(size=100)
    assert complexity(LinearRegression().fit(X, y)) == 5
    assert complexity(Lasso(alpha=0.3).fit(X, y)) == 2
    tree = DecisionTreeRegressor(max_leaf_nodes=7, random_state=0).fit(X, y)
    assert complexity(tree) == 7
    forest = RandomForestRegressor(n_estimators=3, max_leaf_nodes=5, random_state=0).fit(X, y)
    assert complexity(forest) == 15
    hgb = HistGradientBoostingRegressor(max_iter=4, max_leaf_nodes=3).fit(X, y)
    assert complexity(hgb) == 12
    assert complexity(make_pipeline(LinearRegression()).fit(X, y)) == 5
    theory = Theory([Variable("a"), Variable("y", role="target")])
    frame = pd.DataFrame({"a": X[:, 0]})
    wrapped = ConsistentRegressor(LinearRegression(), theory).fit(frame, y)
    assert complexity(wrapped) == 2
    assert math.isnan(complexity(object()))


def test_complexity_sees_through_searches_and_target_transforms():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = X[:, 0] + 0.1 * rng.normal(size=60)
    search = GridSearchCV(Lasso(), {"alpha": [0.3, 10.0]}, cv=3).fit(X, y)
    assert search.best_params_ == {"alpha": 0.3}
    assert complexity(search) == 2  # the refitted Lasso: one coefficient and the intercept
    assert math.isnan(complexity(GridSearchCV(Lasso(), {"alpha": [0.3]}, refit=False)))
    transformed = TransformedTargetRegressor(LinearRegression(), func=np.exp, inverse_func=np.log)
    assert complexity(transformed.fit(X, y)) == 5


def _xgb_data():
    rng = np.random.default_rng(0)
    X, X_val = rng.normal(size=(200, 4)), rng.normal(size=(100, 4))
    return X, X[:, 0] + 0.1 * rng.normal(size=200), X_val, X_val[:, 0] + 0.1 * rng.normal(size=100)


def test_complexity_of_xgboost_linear_booster_counts_its_coefficients():
    xgb = pytest.importorskip("xgboost")
    X, y, _, _ = _xgb_data()
    full = xgb.XGBRegressor(booster="gblinear", n_estimators=20).fit(X, y)
    assert complexity(full) == 5, "4 coefficients plus the bias"
    sparse = xgb.XGBRegressor(booster="gblinear", n_estimators=20, reg_alpha=0.3).fit(X, y)
    assert np.count_nonzero(sparse.coef_) == 1
    assert complexity(sparse) == 2, "the L1 penalty leaves one coefficient, plus the bias"


@pytest.mark.parametrize("classes", [None, 3])  # one tree per round, or one per class
def test_complexity_of_early_stopped_xgboost_counts_trees_up_to_the_best_iteration(classes):
    xgb = pytest.importorskip("xgboost")
    X, y, X_val, y_val = _xgb_data()
    kind = xgb.XGBRegressor if classes is None else xgb.XGBClassifier
    if classes is not None:
        y, y_val = np.digitize(y, [-0.5, 0.5]), np.digitize(y_val, [-0.5, 0.5])
    model = kind(n_estimators=60, max_depth=2, learning_rate=0.5, early_stopping_rounds=3)
    model.fit(X, y, eval_set=[(X_val, y_val)], verbose=False)
    booster = model.get_booster()
    assert model.best_iteration + 1 < booster.num_boosted_rounds(), "early stopping happened"
    trees = booster.trees_to_dataframe()
    used = trees["Tree"] < (model.best_iteration + 1) * (classes or 1)  # what predict() uses
    assert complexity(model) == int((trees["Feature"] == "Leaf")[used].sum())
    assert complexity(model) < int((trees["Feature"] == "Leaf").sum())


def test_complexity_of_an_unfitted_xgboost_model_is_nan():
    xgb = pytest.importorskip("xgboost")
    assert math.isnan(complexity(xgb.XGBRegressor()))
    assert math.isnan(complexity(xgb.XGBClassifier(booster="gblinear")))
