"""``PhysicsModelRegressor``: the theory's own physics model as a scikit-learn regressor."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from tgds._validation import Instance, validate_params
from tgds.exceptions import DataError, TheoryError
from tgds.theory import Theory
from tgds.utils import as_frame

__all__ = ["PhysicsModelRegressor"]


class PhysicsModelRegressor(RegressorMixin, BaseEstimator):
    """Predict with the theory's algebraic physics model (``PhysicsModel(outputs=...)``).

    Nothing is learned: ``fit`` only checks the data, so the physics model can be
    compared and audited next to data-driven models on the same folds. Parameters
    must have values in the theory.

    Examples
    --------
    >>> import pandas as pd
    >>> from tgds.theory import Theory, Variable, PhysicsModel
    >>> t = Theory([Variable("sim", "degC"), Variable("T", "degC", role="target")],
    ...            physics_model=PhysicsModel(outputs={"T": "sim"}))
    >>> PhysicsModelRegressor(theory=t).fit(pd.DataFrame({"sim": [1.0, 2.0]})).predict(pd.DataFrame({"sim": [3.0]}))
    array([3.])
    """

    def __init__(self, *, theory: Theory | None = None):
        self.theory = theory

    def fit(self, X: Any, y: Any = None) -> PhysicsModelRegressor:
        self._compile()
        frame = as_frame(X, "X")
        missing = [c for c in self.inputs_ if c not in frame]
        if missing:
            raise DataError(
                f"the physics model needs the column(s) {missing}; X has {frame.columns}."
            )
        for c in self.inputs_:
            frame.numeric(c)  # a text column fails here, as it would in predict
        return self

    def _compile(self) -> None:
        """The fitted state, which depends on the theory only (``tgds.load`` rebuilds it)."""
        validate_params(self, {"theory": Instance(Theory)})
        pm = self.theory.physics_model
        if pm is None or pm.outputs is None:
            kind = "none" if pm is None else pm.kind
            raise TheoryError(
                f"PhysicsModelRegressor needs a physics model with outputs = {{...}}; the theory has {kind}."
            )
        self.targets_ = pm.predicted
        self._expressions = [self.theory.physics_expression_of(t) for t in self.targets_]
        names = {s.name for e in self._expressions for s in e.sympy.free_symbols}
        parameters = {p.name for p in self.theory.parameters}
        unset = sorted((names & parameters) - set(self.theory.parameter_values()))
        if unset:
            raise TheoryError(
                f"PhysicsModelRegressor: the physics model uses the parameter(s) {unset}, which "
                "have no value in the theory; give them values (or calibrate them first)."
            )
        self.inputs_ = tuple(sorted(names - parameters))
        self.n_parameters_ = 0  # nothing is fitted; parameters come from the theory

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "targets_")
        frame = as_frame(X, "X")
        values = {c: frame.numeric(c) for c in self.inputs_}
        values.update(self.theory.parameter_values())
        out = np.column_stack(
            [np.broadcast_to(e.evaluate(values), (frame.n_rows,)) for e in self._expressions]
        )
        return out[:, 0] if out.shape[1] == 1 else out
