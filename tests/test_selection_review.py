"""Review of tgds.selection: defects found by using it as a data scientist would.

Each test reproduces one defect of the splitters, ``compare``, the scorers or the
complexity measure, with a reference that can be worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import Lasso, LinearRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from tgds.exceptions import DataError
from tgds.selection import (
    BlockedTimeSplit,
    ExtrapolationSplit,
    RegimeSplit,
    SpatialBlockSplit,
    compare,
    complexity,
    consistency_scorer,
    score_fold,
)
from tgds.theory import Monotonic, Theory, Variable


@pytest.fixture(scope="module")
def line():
    """y = 2x on 40 points, with a theory saying y rises with x."""
    theory = Theory(
        [Variable("x"), Variable("y", role="target")],
        constraints=[Monotonic("y", wrt="x", name="rising")],
    )
    X = pd.DataFrame({"x": np.linspace(0.0, 1.0, 40)})
    return theory, X, 2 * X["x"].to_numpy()


class Recorder(RegressorMixin, BaseEstimator):
    """Predicts a constant that tells what ``fit`` received: the length of ``X_unlabeled``
    (or of ``eval_set``'s first inputs), so the test RMSE on ``y = 0`` shows it."""

    def fit(self, X, y, X_unlabeled=None, eval_set=None):
        seen = X_unlabeled if X_unlabeled is not None else eval_set[0][0]
        self.seen_ = float(len(seen))
        return self

    def predict(self, X):
        return np.full(len(X), self.seen_)


# -- compare: fit_params -----------------------------------------------------------------
def test_compare_passes_an_eval_set_whole(line):
    """A list of (X_val, y_val) pairs, as XGBoost and LightGBM take for early stopping,
    crashed in numpy ('inhomogeneous shape') while compare decided whether it was per row."""
    theory, X, _ = line
    X_val = pd.DataFrame({"x": np.linspace(0.0, 1.0, 7)})
    result = compare(
        {"m": Recorder()},
        X,
        np.zeros(len(X)),
        theory,
        KFold(2),
        fit_params={"m": {"eval_set": [(X_val, np.zeros(7))]}},
    )
    assert list(result.folds["rmse"]) == [7.0, 7.0]


def test_compare_passes_x_unlabeled_of_a_pipeline_step_whole(line):
    """``X_unlabeled`` is passed whole; addressed to a pipeline step as
    ``step__X_unlabeled`` it was cut to the training rows when it had one row per row of X."""
    theory, X, _ = line
    pipe = Pipeline([("rec", Recorder())])
    result = compare(
        {"p": pipe},
        X,
        np.zeros(len(X)),
        theory,
        KFold(2),
        fit_params={"p": {"rec__X_unlabeled": X}},
    )
    assert list(result.folds["rmse"]) == [40.0, 40.0]  # not 20: the fold's training rows


# -- compare: cv ----------------------------------------------------------------------------
def test_compare_takes_precomputed_folds_as_scikit_learn_does(line):
    """scikit-learn's cv may be an iterable of (train, test) pairs; compare refused it."""
    theory, X, y = line
    folds = list(KFold(4).split(X))
    by_splitter = compare({"lin": LinearRegression()}, X, y, theory, KFold(4)).folds
    for cv in (folds, iter(folds)):
        by_list = compare({"lin": LinearRegression()}, X, y, theory, cv).folds
        assert list(by_list["n_test"]) == [10, 10, 10, 10]
        np.testing.assert_allclose(by_list["rmse"], by_splitter["rmse"])


class EmptyTestFold:
    def split(self, X, y=None, groups=None):
        yield np.arange(len(X)), np.array([], dtype=int)

    def get_n_splits(self, X=None, y=None, groups=None):
        return 1


@pytest.mark.parametrize(
    ("cv", "message"),
    [
        (EmptyTestFold(), r"fold 0 of cv has no test rows"),
        ([(np.arange(20), np.arange(20, 41))], r"fold 0 of cv .* positions are 0 to 39; got 40"),
        ([(np.arange(20), np.arange(20, 40)), np.arange(20)], r"fold 1 of cv must be a pair"),
        ([(np.zeros(20, bool), np.ones(20, bool))], r"1-D array of integer positions; .* bool"),
        ([], r"cv gave no folds"),
        ({"train": [0]}, r"cv must be a scikit-learn splitter"),
    ],
)
def test_compare_names_a_bad_fold_of_cv(line, cv, message):
    """An empty test fold crashed in numpy ('cannot reshape array of size 0')."""
    theory, X, y = line
    with pytest.raises(DataError, match=message):
        compare({"lin": LinearRegression()}, X, y, theory, cv)


def test_compare_says_what_it_got_for_models(line):
    theory, X, y = line
    with pytest.raises(DataError, match=r"non-empty dict name -> estimator; got list"):
        compare([LinearRegression()], X, y, theory, KFold(2))
    with pytest.raises(DataError, match=r"non-empty dict name -> estimator; got an empty dict"):
        compare({}, X, y, theory, KFold(2))


def test_compare_checks_targets_before_fitting(line):
    """A string was read letter by letter ("Lynx": "'L' is not a target of the theory"), as
    consistency_scorer refuses; an unknown target was found only after a model was fitted."""
    theory, X, y = line
    with pytest.raises(DataError, match=r"compare: targets must be a list of names, e.g. \['y'\]"):
        compare({"lin": LinearRegression()}, X, y, theory, KFold(2), targets="y")
    with pytest.raises(DataError, match=r"compare: unknown targets \['T'\]; .* \['y'\]"):
        compare({"never fitted": object()}, X, y, theory, KFold(2), targets=["T"])


def test_score_fold_refuses_observations_of_fewer_targets_than_predicted():
    """Predictions (n, 2) minus observations (n, 1) broadcast: a wrong RMSE, no error."""
    theory = Theory([Variable("x"), Variable("a", role="target"), Variable("b", role="target")])
    X = pd.DataFrame({"x": np.linspace(0.0, 1.0, 20)})
    Y = np.column_stack([X["x"], 2 * X["x"]])
    model = LinearRegression().fit(X, Y)
    metrics, _, _ = score_fold(model, X, Y, theory)
    assert metrics["rmse"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(
        DataError, match=r"y_test has shape \(20,\), the model's predictions \(20, 2\)"
    ):
        score_fold(model, X, Y[:, 0], theory)
    with pytest.raises(DataError, match=r"y_test has shape \(19, 2\); expected \(20,\) or \(20, "):
        score_fold(model, X, Y[1:], theory)  # numpy said: cannot reshape array of size 38


# -- complexity -------------------------------------------------------------------------------
def test_complexity_counts_a_fitted_intercept_even_when_it_is_zero():
    """The intercept is a fitted parameter whatever its value; counted only when non-zero,
    the complexity of one model on two folds differed by rounding (0.0 vs 1e-16)."""
    X = np.array([[-1.0], [0.0], [1.0]])
    y = np.array([-2.0, 0.0, 2.0])  # centred: the least-squares intercept is exactly 0
    fitted = LinearRegression().fit(X, y)
    assert fitted.intercept_ == 0.0
    assert complexity(fitted) == 2  # the slope and the intercept
    assert complexity(LinearRegression(fit_intercept=False).fit(X, y)) == 1
    X2 = np.column_stack([X[:, 0], [0.5, -1.0, 0.5]])
    lasso = Lasso(alpha=0.1, fit_intercept=False).fit(X2, y)
    assert np.count_nonzero(lasso.coef_) == 1  # the second input is dropped
    assert complexity(lasso) == 1


# -- consistency_scorer --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"constraints": 5}, r"constraints must be a list of names, e.g. \['rising'\]; got int 5"),
        ({"targets": 1.5}, r"targets must be a list of names, e.g. \['y'\]; got float 1.5"),
        ({"constraints": []}, r"constraints is empty, so nothing would be audited"),
        ({"targets": ()}, r"targets is empty, so nothing would be audited"),
    ],
)
def test_consistency_scorer_names_bad_lists(line, kwargs, message):
    """A number raised a bare TypeError ('int' object is not iterable); an empty list gave a
    scorer that always returned 1.0, whatever the model."""
    theory, _, _ = line
    with pytest.raises(DataError, match=message):
        consistency_scorer(theory, **kwargs)


# -- BlockedTimeSplit --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("time", "X", "message"),
    [
        (None, np.zeros((10, 1)), r"must be an int >= 0. Got np.timedelta64\(1,'D'\)"),
        ("t", pd.DataFrame({"t": np.arange(10.0)}), r"in the units of the numeric column 't'"),
    ],
)
def test_blocked_time_gap_as_numpy_timedelta_is_no_number(time, X, message):
    """numpy counts timedelta64 as an integer: without ``time`` one day was taken as one row
    (folds silently built), with a numeric time column numpy raised a UFuncTypeError."""
    with pytest.raises(ValueError, match=r"The 'gap' parameter of BlockedTimeSplit must be"):
        list(BlockedTimeSplit(2, time=time, gap=np.timedelta64(1, "D")).split(X))
    with pytest.raises(ValueError, match=message):
        list(BlockedTimeSplit(2, time=time, gap=np.timedelta64(1, "D")).split(X))


def test_blocked_time_gap_in_months_is_a_parameter_error():
    """numpy's months have no fixed length; pandas raised a ValueError naming no parameter
    (or, with the month taken for a number, numpy a TypeError)."""
    X = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=30, freq="D")})
    with pytest.raises(ValueError, match=r"The 'gap' parameter of BlockedTimeSplit must be a"):
        list(BlockedTimeSplit(2, time="t", gap=np.timedelta64(1, "M")).split(X))
    # a week is a fixed length: test blocks start on days 10 and 20, training ends 7 days before
    folds = list(BlockedTimeSplit(2, time="t", gap=np.timedelta64(1, "W")).split(X))
    assert [list(train) for train, _ in folds] == [list(range(3)), list(range(13))]
    assert [list(test) for _, test in folds] == [list(range(10, 20)), list(range(20, 30))]


# -- error messages of the splitters ----------------------------------------------------------
@pytest.mark.parametrize(
    ("cv", "X", "message"),
    [
        (
            RegimeSplit("a"),
            np.zeros((3, 2)),
            r"^RegimeSplit: .*DataFrame.*ndarray.* Pass the data frame itself, not its values",
        ),
        (
            SpatialBlockSplit(2),
            pd.DataFrame({"x": ["a", "b"], "y": [1.0, 2.0]}),
            r"^SpatialBlockSplit: .*'x' must be numeric",
        ),
        (
            ExtrapolationSplit("x + 1"),
            pd.DataFrame({"x": ["a", "b"]}),
            r"^ExtrapolationSplit: .*'x' must be numeric",
        ),
    ],
)
def test_splitter_errors_name_the_splitter(cv, X, message):
    """Inside cross_validate or GridSearchCV the traceback shows no splitter: the message
    must say which one refused X (it said only 'X column 'x' must be numeric')."""
    with pytest.raises(DataError, match=message):
        list(cv.split(X))


class _FailsOnSecondFold(LinearRegression):
    """A regressor that raises on fold 1 of KFold(4) over 40 rows (test rows 10-19)."""

    def fit(self, X, y, **kw):
        if 0 in X.index and 10 not in X.index:
            raise ValueError("boom")
        return super().fit(X, y, **kw)


def test_compare_ranks_a_model_that_fails_on_a_fold_last_and_names_it():
    theory = Theory([Variable("x"), Variable("y", role="target")])
    X = pd.DataFrame({"x": np.linspace(0, 1, 40)})
    y = 2 * X["x"]
    models = {"fails": _FailsOnSecondFold(), "lin": LinearRegression()}
    with pytest.warns(
        FitFailedWarning, match=r"model 'fails' failed on fold 1 \(ValueError: boom\)"
    ):
        result = compare(models, X, y, theory, KFold(4))
    rows = result.folds.set_index(["model", "fold"])
    assert rows.loc[("fails", 1), "error"] == "ValueError: boom"
    assert np.isnan(rows.loc[("fails", 1), "rmse"]) and pd.isna(rows.loc[("fails", 0), "error"])
    assert rows.loc[("lin", 1), "rmse"] == pytest.approx(0.0, abs=1e-12)
    assert result.best == "lin" and np.isnan(result.summary.loc["fails", "rmse"])
    assert list(result.summary.index) == ["lin", "fails"]
    with pytest.raises(ValueError, match="boom") as err:
        compare(models, X, y, theory, KFold(4), error_score="raise")
    assert "compare: model 'fails' failed on fold 1." in err.value.__notes__
    with pytest.raises(DataError, match="error_score must be numpy.nan .* or 'raise'; got 0"):
        compare(models, X, y, theory, KFold(4), error_score=0)
