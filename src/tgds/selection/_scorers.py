"""Scorers for ``cross_validate`` and ``GridSearchCV``: consistency with a theory, simplicity."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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
    constraints = names_of(constraints, "constraints", theory, "consistency_scorer")
    targets = names_of(targets, "targets", theory, "consistency_scorer")

    def score(estimator: Any, X: Any, y: Any = None) -> float:
        return audit(estimator, theory, X, targets=targets, constraints=constraints).score

    return score


def names_of(names: Any, what: str, theory: Theory, owner: str) -> tuple[str, ...] | None:
    """``names`` as a tuple of some of the theory's ``what`` (``"constraints"`` or
    ``"targets"``), or None; otherwise a DataError naming ``owner`` and ``what``."""
    if names is None:
        return None
    known = [c.label for c in theory.constraints] if what == "constraints" else list(theory.targets)
    if isinstance(names, str):
        raise DataError(
            f"{owner}: {what} must be a list of names, e.g. [{names!r}]; got the string {names!r}."
        )
    if not isinstance(names, Iterable):
        raise DataError(
            f"{owner}: {what} must be a list of names, e.g. {known[:1]}; "
            f"got {type(names).__name__} {names!r:.40}."
        )
    names = tuple(names)  # a generator would be used up by this check
    if not names:
        raise DataError(
            f"{owner}: {what} is empty, so nothing would be audited and every model would "
            f"score 1.0; pass None for all of them, or some of {known}."
        )
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DataError(f"{owner}: unknown {what} {unknown}; the theory's {what}: {known}.")
    return names


def simplicity_scorer(estimator: Any, X: Any = None, y: Any = None) -> float:
    """A scorer giving minus the complexity of the fitted estimator (higher is simpler)."""
    return -complexity(estimator)
