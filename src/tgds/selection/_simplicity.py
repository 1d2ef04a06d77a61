"""Simplicity: one complexity count per model family (smaller is simpler).

| family | complexity |
|---|---|
| tgds neural models | trainable weights and biases |
| ``PhysicsModelRegressor`` | fitted parameters (0: the physics model is given) |
| linear models (``coef_``) | non-zero coefficients plus the intercept(s), if fitted |
| decision trees, random forests, extra trees | leaves, summed over trees |
| ``HistGradientBoosting*`` | leaves, summed over trees |
| ``GradientBoosting*`` | leaves, summed over trees |
| XGBoost trees | leaves, summed over the trees ``predict`` uses (to ``best_iteration``) |
| XGBoost (``gblinear``) | non-zero coefficients plus the bias, as for linear models |
| LightGBM | leaves, summed over trees (from the booster's own dump) |
| ``Pipeline`` / ``ConsistentRegressor`` | the complexity of the final / wrapped estimator |
| ``GridSearchCV`` and other searches / ``TransformedTargetRegressor`` | the complexity of ``best_estimator_`` / ``regressor_`` |
| anything else | NaN (unknown) |
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = ["complexity"]


def complexity(model: Any) -> float:
    """The complexity count of a fitted model (see the module table); NaN when unknown.

    Examples
    --------
    >>> from sklearn.linear_model import Lasso
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 5))
    >>> complexity(Lasso(alpha=0.5).fit(X, X[:, 0]))  # one coefficient survives, plus the intercept
    2.0
    """
    for probe in (_wrapped, _tgds, _trees, _hist_boosting, _boosters, _linear):
        value = probe(model)
        if value is not None:
            return float(value)
    return math.nan


def _wrapped(model: Any) -> float | None:
    if hasattr(model, "steps"):  # Pipeline
        return complexity(model.steps[-1][1])
    if hasattr(model, "estimator_") and hasattr(model, "theory"):  # ConsistentRegressor
        return complexity(model.estimator_)
    for attr in ("best_estimator_", "regressor_"):  # a refitted search; TransformedTargetRegressor
        inner = getattr(model, attr, None)
        if inner is not None:
            return complexity(inner)
    return None


def _tgds(model: Any) -> float | None:
    if hasattr(model, "model_") and hasattr(model.model_, "net"):
        from tgds.nn import count_parameters  # noqa: PLC0415

        return count_parameters(model.model_)
    if hasattr(model, "n_parameters_"):
        return model.n_parameters_
    return None


def _trees(model: Any) -> float | None:
    if hasattr(model, "tree_"):
        return model.tree_.n_leaves
    estimators = getattr(model, "estimators_", None)
    if estimators is None:
        return None
    flat = np.ravel(np.asarray(estimators, dtype=object))
    if all(hasattr(e, "tree_") for e in flat):
        return sum(e.tree_.n_leaves for e in flat)
    return None


def _hist_boosting(model: Any) -> float | None:
    predictors = getattr(model, "_predictors", None)
    if predictors is None:
        return None
    return sum(int(p.nodes["is_leaf"].sum()) for stage in predictors for p in stage)


def _boosters(model: Any) -> float | None:
    if callable(getattr(model, "get_booster", None)):
        return _xgboost(model)
    if hasattr(model, "booster_") and hasattr(model.booster_, "dump_model"):  # LightGBM
        return sum(t["num_leaves"] for t in model.booster_.dump_model()["tree_info"])
    return None


def _xgboost(model: Any) -> float:
    """An XGBoost model counted as its ``predict`` uses it (NaN when it is not fitted)."""
    try:  # unfitted: sklearn's NotFittedError (a ValueError and an AttributeError)
        booster = model.get_booster()
    except (ValueError, AttributeError):
        return math.nan
    kind = json.loads(booster.save_config())["learner"]["gradient_booster"]["name"]
    if kind == "gblinear":
        dump = json.loads(booster.get_dump(dump_format="json")[0])
        return _count_linear(dump["weight"], dump["bias"])
    try:  # predict() uses the rounds up to best_iteration after early stopping
        booster = booster[: booster.best_iteration + 1]
    except AttributeError:  # not early-stopped: every round counts
        pass
    return sum(_xgb_leaves(json.loads(d)) for d in booster.get_dump(dump_format="json"))


def _xgb_leaves(node: dict) -> int:
    children = node.get("children")
    return 1 if not children else sum(_xgb_leaves(c) for c in children)


def _linear(model: Any) -> float | None:
    coef = getattr(model, "coef_", None)
    if coef is None:
        return None
    intercept = getattr(model, "intercept_", 0.0)
    fitted = getattr(model, "fit_intercept", None)
    if fitted is None:  # no way to tell a fitted intercept of 0 from none
        return _count_linear(coef, intercept)
    # A fitted intercept is a parameter even where it comes out as 0 (centred data):
    # counted by value, one model's complexity would differ between folds by rounding.
    return int(np.count_nonzero(coef)) + (int(np.size(intercept)) if fitted else 0)


def _count_linear(coef: Any, intercept: Any) -> int:
    """Non-zero coefficients plus non-zero intercepts."""
    return int(np.count_nonzero(coef)) + int(np.count_nonzero(np.atleast_1d(intercept)))
