"""Scorers for ``cross_validate`` and ``GridSearchCV``: consistency with a theory, simplicity."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tgds.exceptions import DataError
from tgds.refine import audit
from tgds.selection._simplicity import complexity
from tgds.theory import Theory

__all__ = ["consistency_scorer", "simplicity_scorer"]


def consistency_scorer(
    theory: Theory,
    constraints: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
) -> Callable[[Any, Any, Any], float]:
    """A scorer ``f(estimator, X, y) -> consistency score in [0, 1]`` (higher is better).

    ``constraints`` limits the audit to these constraints; ``targets`` names what the
    estimator predicts (default: the theory's targets), e.g. ``["Lynx"]`` for a model of
    one target of a two-target theory: the constraints involving another target are left out.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.model_selection import cross_validate, KFold
    >>> from tgds.theory import Theory, Variable, Bounds
    >>> t = Theory([Variable("x"), Variable("y", bounds=(0, 1), role="target")])
    >>> X = pd.DataFrame({"x": np.linspace(0, 1, 20)})
    >>> scores = cross_validate(LinearRegression(), X, X["x"], cv=KFold(2), scoring=consistency_scorer(t))
    >>> [float(s) for s in scores["test_score"]]
    [1.0, 1.0]
    """
    if not isinstance(theory, Theory):
        raise DataError(f"consistency_scorer needs a Theory; got {type(theory).__name__}.")
    # Checked now: inside GridSearchCV a scorer's error only turns the scores into NaN.
    known = {
        "constraints": [c.label for c in theory.constraints],
        "targets": list(theory.targets),
    }
    for what, names in (("constraints", constraints), ("targets", targets)):
        if names is None:
            continue
        if isinstance(names, str):
            raise DataError(
                f"consistency_scorer: {what} must be a list of names, e.g. [{names!r}]; "
                f"got the string {names!r}."
            )
        unknown = [n for n in names if n not in known[what]]
        if unknown:
            raise DataError(
                f"consistency_scorer: unknown {what} {unknown}; the theory's {what}: {known[what]}."
            )

    def score(estimator: Any, X: Any, y: Any = None) -> float:
        return audit(estimator, theory, X, targets=targets, constraints=constraints).score

    return score


def simplicity_scorer(estimator: Any, X: Any = None, y: Any = None) -> float:
    """A scorer giving minus the complexity of the fitted estimator (higher is simpler)."""
    return -complexity(estimator)
