"""Weights of the loss terms: fixed, or balanced adaptively by ReLoBRaLo.

The total loss is ``sum_i base_i * lambda_i * L_i`` where ``base_i`` are the user's
weights and ``lambda_i`` come from the weighting scheme (all one for :class:`FixedWeights`).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from tgds._validation import Real
from tgds.exceptions import TgdsError

__all__ = ["AbstractWeighting", "FixedWeights", "ReLoBRaLo"]


class AbstractWeighting:
    """A rule for the multipliers ``lambda_i`` of the loss terms."""

    def init(self, n_terms: int) -> dict:
        """The initial state (a dict of arrays; saved in checkpoints)."""
        return {"lambdas": jnp.ones(n_terms)}

    def update(self, state: dict, losses: jax.Array, key: jax.Array) -> dict:
        """The state after a step whose unweighted term losses were ``losses``."""
        return state


@dataclass(frozen=True)
class FixedWeights(AbstractWeighting):
    """Constant multipliers: the user's weights alone decide the balance."""


@dataclass(frozen=True)
class ReLoBRaLo(AbstractWeighting):
    """Relative Loss Balancing with Random Lookback (Bischof & Kraus, 2021, arXiv:2110.09813).

    After each step, with ``L_i(t)`` the term losses::

        bal(t, t') = m * softmax_i( L_i(t) / (temperature * L_i(t')) )
        hist(t)    = rho * lambda(t-1) + (1 - rho) * bal(t, 0)
        lambda(t)  = alpha * hist(t) + (1 - alpha) * bal(t, t-1)

    where ``m`` is the number of terms and ``rho`` is a Bernoulli variable with mean
    ``expected_rho`` (the random look-back to the first step). Terms whose loss falls
    more slowly than the others, relative to where they started, get more weight.

    Parameters
    ----------
    alpha : float
        Memory of the multipliers (0 <= alpha < 1).
    temperature : float
        Softmax temperature (> 0); small values make the balance sharper.
    expected_rho : float
        Probability of keeping the history rather than looking back to step 0.

    Examples
    --------
    Without memory (``alpha=0``) the multipliers are ``bal(t, t-1)``: the first term fell
    tenfold in the last step, the second did not, so the second gets more weight.

    >>> scheme = ReLoBRaLo(alpha=0.0, temperature=1.0)
    >>> state = scheme.update(scheme.init(2), jnp.array([1.0, 1.0]), jax.random.PRNGKey(0))
    >>> state = scheme.update(state, jnp.array([0.1, 1.0]), jax.random.PRNGKey(1))
    >>> [round(float(v), 3) for v in state["lambdas"]]  # 2 * softmax([0.1, 1.0])
    [0.578, 1.422]
    """

    alpha: float = 0.999
    temperature: float = 0.1
    expected_rho: float = 0.999

    def __post_init__(self) -> None:
        # Real rejects strings (a bare TypeError in the comparisons) and NaN
        if not (Real(0).test(self.alpha) and self.alpha < 1):
            raise TgdsError(f"ReLoBRaLo alpha must be in [0, 1); got {self.alpha!r}.")
        if not Real(0, low_open=True).test(self.temperature):
            raise TgdsError(f"ReLoBRaLo temperature must be positive; got {self.temperature!r}.")
        if not Real(0, 1).test(self.expected_rho):
            raise TgdsError(f"ReLoBRaLo expected_rho must be in [0, 1]; got {self.expected_rho!r}.")

    def init(self, n_terms: int) -> dict:
        return {
            "lambdas": jnp.ones(n_terms),
            "first": jnp.full(n_terms, jnp.nan),
            "previous": jnp.full(n_terms, jnp.nan),
        }

    def update(self, state: dict, losses: jax.Array, key: jax.Array) -> dict:
        losses = jax.lax.stop_gradient(losses)
        tiny = 1e-12
        first = jnp.where(jnp.isnan(state["first"]), losses, state["first"])
        previous = jnp.where(jnp.isnan(state["previous"]), losses, state["previous"])
        m = losses.shape[0]

        def balance(reference: jax.Array) -> jax.Array:
            return m * jax.nn.softmax(losses / (self.temperature * reference + tiny))

        rho = jax.random.bernoulli(key, self.expected_rho).astype(losses.dtype)
        hist = rho * state["lambdas"] + (1 - rho) * balance(first)
        lambdas = self.alpha * hist + (1 - self.alpha) * balance(previous)
        return {"lambdas": lambdas, "first": first, "previous": losses}
