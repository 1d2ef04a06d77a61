"""Points spread over a theory's input domain, for physics terms (collocation points)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tgds._validation import repeated
from tgds.exceptions import TheoryError
from tgds.theory._variables import check_bounds

if TYPE_CHECKING:
    from tgds.theory._theory import Theory

__all__ = ["sample_domain"]

METHODS = ("halton", "uniform")


def sample_domain(
    theory: Theory,
    n: int,
    *,
    variables: Sequence[str] | None = None,
    bounds: Mapping[str, Any] | None = None,
    method: str = "halton",
    seed: int | None = None,
) -> Any:
    """``n`` points in the box of the variables' bounds, as a pandas DataFrame.

    See :meth:`tgds.theory.Theory.sample`.
    """
    import pandas as pd  # noqa: PLC0415

    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise TheoryError(f"Theory.sample: n must be a positive int; got {n!r:.40}.")
    if method not in METHODS:
        raise TheoryError(f"Theory.sample: method must be one of {METHODS}; got {method!r:.40}.")
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
        raise TheoryError(f"Theory.sample: seed must be an int or None; got {seed!r:.40}.")
    if isinstance(variables, str):
        variables = [variables]
    names = tuple(theory.inputs if variables is None else variables)
    if not names:
        raise TheoryError("Theory.sample: the theory has no input variables; pass variables=[...].")
    twice = repeated(names)
    if twice:
        raise TheoryError(f"Theory.sample: variables names {twice} more than once.")
    overrides = dict(bounds or {})
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise TheoryError(
            f"Theory.sample: bounds names {unknown}, which are not sampled; sampled: {list(names)}."
        )
    box = []
    for name in names:
        declared = theory.variable(name).bounds  # raises for an unknown name
        given = check_bounds(overrides[name], f"bounds[{name!r}]") if name in overrides else None
        lo, hi = given or declared or (-math.inf, math.inf)
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
            raise TheoryError(
                f"Theory.sample: variable {name!r} needs finite bounds low < high to be sampled; "
                f"it has {(lo, hi)}. Declare them, pass bounds={{{name!r}: (low, high)}}, or "
                f"choose the sampled variables with variables=[...]."
            )
        box.append((lo, hi))
    if method == "halton":
        from scipy.stats import qmc  # noqa: PLC0415

        unit = qmc.Halton(d=len(names), scramble=True, seed=seed).random(n)
    else:
        unit = np.random.default_rng(seed).uniform(size=(n, len(names)))
    lo, hi = np.array(box).T
    return pd.DataFrame(lo + unit * (hi - lo), columns=list(names))
