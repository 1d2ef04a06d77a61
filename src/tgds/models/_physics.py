"""``PhysicsModelRegressor``: the theory's own physics model as a scikit-learn regressor,
with its unknown parameters calibrated by least squares."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from tgds._validation import (
    Instance,
    OneOf,
    Optional,
    Rule,
    any_of,
    bind_targets,
    validate_params,
)
from tgds.exceptions import DataError, TheoryError
from tgds.theory import Theory
from tgds.theory._variables import HalfNormal, LogNormal, Normal, Parameter, Uniform
from tgds.utils import as_frame

__all__ = ["PhysicsModelRegressor"]

_NAMES = Rule(
    lambda v: isinstance(v, list | tuple) and all(isinstance(n, str) for n in v),
    "a list of parameter names",
)
CALIBRATE = Optional(any_of(OneOf("unknown", "all"), _NAMES))
# a residual the model cannot evaluate (sqrt of a negative number at a trial value): a wall
# the least-squares step backs away from, not a NaN that ends the fit
_WALL = 1e10


class PhysicsModelRegressor(RegressorMixin, BaseEstimator):
    """Predict with the theory's algebraic physics model (``PhysicsModel(outputs=...)``),
    calibrating its unknown parameters on the data.

    ``fit(X, y)`` estimates the parameters chosen by ``calibrate`` by least squares
    (``scipy.optimize.least_squares``, trust-region reflective, within each parameter's
    bounds and its prior's support); the others keep their values from the theory. With
    nothing to calibrate, ``fit`` only checks the data (``y`` may be omitted), so the
    physics model can be compared and audited next to data-driven models on the same
    folds.

    Parameters
    ----------
    theory : Theory
        A theory with ``PhysicsModel(outputs=...)``.
    targets : str, list of str or None, default=None
        The targets to predict, some of the physics model's outputs (default: all of them,
        in its order); ``predict`` gives one column per target, and ``y`` in ``fit`` holds
        their observations (a data frame's columns are matched by name).
    calibrate : "unknown", "all", list of str or None, default="unknown"
        Which of the parameters the physics model uses are fitted: ``"unknown"`` those
        without a value; ``"all"`` also those with a value and bounds or a prior (the value
        is then the starting point; ``Parameter.known`` ones stay fixed); a list names them;
        ``None`` fits nothing, and a parameter without a value is an error.

    Attributes
    ----------
    parameters_ : dict
        The calibrated parameters, name -> value (in the parameter's unit).
    parameter_std_ : dict
        Their standard errors from the linearised least-squares fit,
        ``sqrt(diag(s² (JᵀJ)⁻¹))`` with ``s²`` the residual variance: NaN for a parameter
        that ends on a bound or when there are no more observations than parameters.
        With several targets, each target's residuals are divided by its standard deviation
        in ``y`` before they are summed, so targets in different units weigh alike.
    n_parameters_ : int
        The number of calibrated parameters (the model's complexity).

    The starting point of a parameter is its value, else its prior's centre (``Normal``:
    loc; ``LogNormal``: exp(loc); ``HalfNormal``: scale; ``Uniform``: the midpoint), else
    the middle of finite bounds, else 1 (moved inside the bounds). The prior gives the
    starting point and the support only: this is a least-squares fit, not a Bayesian one.

    Examples
    --------
    >>> import pandas as pd
    >>> from tgds.theory import Theory, Variable, PhysicsModel
    >>> t = Theory([Variable("sim", "degC"), Variable("T", "degC", role="target")],
    ...            physics_model=PhysicsModel(outputs={"T": "sim"}))
    >>> PhysicsModelRegressor(theory=t).fit(pd.DataFrame({"sim": [1.0, 2.0]})).predict(pd.DataFrame({"sim": [3.0]}))
    array([3.])

    Newton cooling with an unknown rate, calibrated on three readings:

    >>> from tgds.theory import Parameter
    >>> t = Theory([Variable("t", "s"), Variable("T", "K", role="target")],
    ...            parameters=[Parameter("T_env", "K", value=300.0), Parameter("dT", "K", value=50.0),
    ...                        Parameter("k", "1/s", bounds=(0, 1))],
    ...            physics_model=PhysicsModel(outputs={"T": "T_env + dT*exp(-k*t)"}))
    >>> X = pd.DataFrame({"t": [0.0, 10.0, 20.0]})
    >>> model = PhysicsModelRegressor(theory=t).fit(X, 300 + 50 * np.exp(-0.05 * X["t"]))
    >>> round(model.parameters_["k"], 6), model.n_parameters_
    (0.05, 1)
    """

    def __init__(
        self, *, theory: Theory | None = None, targets: Any = None, calibrate: Any = "unknown"
    ):
        self.theory = theory
        self.targets = targets
        self.calibrate = calibrate

    def fit(self, X: Any, y: Any = None) -> PhysicsModelRegressor:
        self._compile()
        frame = as_frame(X, "X")
        missing = [c for c in self.inputs_ if c not in frame]
        if missing:
            raise DataError(
                f"the physics model needs the column(s) {missing}; X has {frame.columns}."
            )
        values = {c: frame.numeric(c) for c in self.inputs_}  # a text column fails here
        if self._free:
            self._calibrate(values, frame.n_rows, y)
        return self

    def _compile(self) -> None:
        """The state that depends on the theory only (``tgds.load`` rebuilds it, then sets
        the calibrated parameters)."""
        validate_params(
            self,
            {
                "theory": Instance(Theory),
                "targets": Optional(any_of(Instance(str), _NAMES)),
                "calibrate": CALIBRATE,
            },
        )
        pm = self.theory.physics_model
        if pm is None or pm.outputs is None:
            kind = "none" if pm is None else pm.kind
            raise TheoryError(
                f"PhysicsModelRegressor needs a physics model with outputs = {{...}}; the theory has {kind}."
            )
        self.targets_ = self._targets(pm.predicted)
        expressions = [self.theory.physics_expression_of(t) for t in self.targets_]
        names = {s.name for e in expressions for s in e.sympy.free_symbols}
        # compiled once: the calibration evaluates them at every step
        self._functions = [e.to_numpy() for e in expressions]
        used = [p for p in self.theory.parameters if p.name in names]
        self._free = self._chosen(used)
        unset = sorted(p.name for p in used if p.value is None and p not in self._free)
        if unset:
            raise TheoryError(
                f"PhysicsModelRegressor: the physics model uses the parameter(s) {unset}, which "
                f"have no value in the theory and are not calibrated (calibrate={self.calibrate!r}); "
                "give them values, or calibrate them with calibrate='unknown'."
            )
        self.inputs_ = tuple(sorted(names - {p.name for p in self.theory.parameters}))
        self.parameters_ = {}
        self.parameter_std_ = {}
        self.n_parameters_ = len(self._free)

    def _targets(self, outputs: tuple[str, ...]) -> tuple[str, ...]:
        """The targets chosen by ``targets`` among the physics model's ``outputs``."""
        if self.targets is None:
            return outputs
        chosen = (self.targets,) if isinstance(self.targets, str) else tuple(self.targets)
        wrong = [t for t in chosen if t not in outputs]
        if wrong or not chosen:
            raise TheoryError(
                f"PhysicsModelRegressor: targets must be some of the physics model's outputs "
                f"{list(outputs)}; got {list(chosen)}."
            )
        return tuple(dict.fromkeys(chosen))

    def _chosen(self, used: list[Parameter]) -> list[Parameter]:
        """The parameters ``calibrate`` picks among those the physics model uses."""
        if self.calibrate is None:
            return []
        if self.calibrate == "unknown":
            return [p for p in used if p.value is None]
        if self.calibrate == "all":
            return [p for p in used if not p.known]
        by_name = {p.name: p for p in used}
        wrong = [n for n in self.calibrate if n not in by_name]
        if wrong:
            raise TheoryError(
                f"PhysicsModelRegressor: calibrate names {wrong}, which the physics model does "
                f"not use; its parameters: {sorted(by_name)}."
            )
        return [by_name[n] for n in dict.fromkeys(self.calibrate)]

    def _calibrate(self, values: dict[str, np.ndarray], n: int, y: Any) -> None:
        from scipy.optimize import least_squares  # noqa: PLC0415

        names = [p.name for p in self._free]
        obs = self._observations(y, n, names)
        scale = obs.std(axis=0) if obs.shape[1] > 1 else np.ones(1)
        scale = np.where(scale > 0, scale, 1.0)
        fixed = {**values, **self.theory.parameter_values()}
        box = [_box(p) for p in self._free]
        lo, hi = (np.array(b, dtype=float) for b in zip(*box, strict=True))
        start = np.array([_start(p, b) for p, b in zip(self._free, box, strict=True)])

        def residuals(theta: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                pred = self._evaluate({**fixed, **dict(zip(names, theta, strict=True))}, n)
                r = ((pred - obs) / scale).ravel()
            return np.where(np.isfinite(r), r, _WALL)

        with np.errstate(all="ignore"):  # reported below
            first = self._evaluate({**fixed, **dict(zip(names, start, strict=True))}, n)
        if not np.isfinite(first).all():
            rows = np.flatnonzero(~np.isfinite(first).all(axis=1))
            raise DataError(
                f"PhysicsModelRegressor: the physics model is not finite at the starting values "
                f"{dict(zip(names, start.tolist(), strict=True))} on {rows.size} row(s) "
                f"(first at row {rows[0]}); give the parameters values or bounds to start from, "
                "or check those rows."
            )
        result = least_squares(residuals, start, bounds=(lo, hi), method="trf", x_scale="jac")
        if result.status == 0:
            warnings.warn(
                f"PhysicsModelRegressor: the least-squares calibration of {names} stopped at "
                f"its evaluation limit ({result.nfev}) before converging.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.parameters_ = dict(zip(names, map(float, result.x), strict=True))
        self.parameter_std_ = dict(zip(names, _standard_errors(result, obs.size), strict=True))

    def _observations(self, y: Any, n: int, names: list[str]) -> np.ndarray:
        """``y`` as an (n, targets) array of finite floats, or a DataError."""
        k = len(self.targets_)
        if y is None:
            raise DataError(
                f"PhysicsModelRegressor: the parameter(s) {names} are calibrated on the "
                f"observed {list(self.targets_)}; call fit(X, y)."
            )
        y = bind_targets(y, self.targets_)
        try:
            obs = np.asarray(y, dtype=float)
        except (TypeError, ValueError):
            raise DataError(
                f"PhysicsModelRegressor: y must hold numbers (the observed {list(self.targets_)}); "
                f"got {type(y).__name__} with dtype {getattr(y, 'dtype', 'object')}."
            ) from None
        obs = obs.reshape(-1, 1) if obs.ndim == 1 else obs
        if obs.shape != (n, k):
            raise DataError(
                f"PhysicsModelRegressor: y must have shape ({n},{' ' + str(k) if k > 1 else ''}) "
                f"for the {n} rows of X and the target(s) {list(self.targets_)}; got {np.shape(y)}."
            )
        bad = ~np.isfinite(obs).all(axis=1)
        if bad.any():
            raise DataError(
                f"PhysicsModelRegressor: y has {int(bad.sum())} row(s) with a missing or infinite "
                f"value (first at row {int(np.flatnonzero(bad)[0])}); calibrate on the observed rows."
            )
        return obs

    def _evaluate(self, values: dict[str, Any], n: int) -> np.ndarray:
        return np.column_stack(
            [np.broadcast_to(np.asarray(f(values), float), (n,)) for f in self._functions]
        )

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "targets_")
        frame = as_frame(X, "X")
        values = {c: frame.numeric(c) for c in self.inputs_}
        values.update(self.theory.parameter_values())
        values.update(self.parameters_)
        out = self._evaluate(values, frame.n_rows)
        return out[:, 0] if out.shape[1] == 1 else out


def _box(p: Parameter) -> tuple[float, float]:
    """Where ``p`` may lie: its bounds within its prior's support."""
    lo, hi = p.bounds or (-math.inf, math.inf)
    if p.prior is not None:
        s_lo, s_hi = p.prior.support
        lo, hi = max(lo, s_lo), min(hi, s_hi)
    return lo, hi


def _start(p: Parameter, box: tuple[float, float]) -> float:
    """The starting value of ``p``'s calibration, strictly inside ``box`` where it can be."""
    lo, hi = box
    prior = p.prior
    if p.value is not None:
        x = p.value
    elif isinstance(prior, Normal):
        x = prior.loc
    elif isinstance(prior, LogNormal):
        x = math.exp(prior.loc)
    elif isinstance(prior, HalfNormal):
        x = prior.scale
    elif isinstance(prior, Uniform):
        x = (prior.low + prior.high) / 2
    elif math.isfinite(lo) and math.isfinite(hi):
        x = (lo + hi) / 2
    else:
        x = 1.0
    if lo < x < hi:
        return float(x)
    if math.isfinite(lo) and math.isfinite(hi):  # a value on a bound: step inside
        return float(lo + (hi - lo) * (0.01 if x <= lo else 0.99))
    return float(lo + max(1.0, abs(lo)) if x <= lo else hi - max(1.0, abs(hi)))


def _standard_errors(result: Any, m: int) -> list[float]:
    """Linearised standard errors of a ``least_squares`` result of ``m`` residuals."""
    p = result.x.size
    if m <= p:
        return [math.nan] * p
    jac = np.asarray(result.jac, dtype=float)
    variance = 2 * result.cost / (m - p)
    cov = variance * np.linalg.pinv(jac.T @ jac)
    std = np.sqrt(np.clip(np.diag(cov), 0, None))
    return [
        math.nan if active else float(s) for s, active in zip(std, result.active_mask, strict=True)
    ]
