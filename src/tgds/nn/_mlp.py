"""``MLP``: a multilayer perceptron with optional random Fourier features."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from tgds._validation import Int, Real
from tgds.exceptions import TgdsError

__all__ = ["MLP", "ACTIVATIONS"]

#: Activation name -> function.
ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "elu": jax.nn.elu,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
    "softplus": jax.nn.softplus,
    "sin": jnp.sin,
}


class MLP(eqx.Module):
    """A fully connected network ``R^n_in -> R^n_out`` acting on one point.

    Parameters
    ----------
    n_in, n_out : int
        Input and output sizes.
    hidden : tuple of int
        Widths of the hidden layers.
    activation : str
        One of :data:`ACTIVATIONS`.
    skip : bool
        Add a linear map from the (raw) input to the output, ``y = A x + b + mlp(x)``: the
        network then starts from, and regularises towards, a linear model, which matters
        when an input (such as a physics model's output) already predicts the target well.
    fourier_features : int
        If positive, the input ``x`` is augmented with ``sin(x B)`` and ``cos(x B)`` for a
        fixed random matrix ``B`` of shape ``(n_in, fourier_features)`` with entries
        ``N(0, fourier_scale^2)`` (Tancik et al. 2020), which helps fit high frequencies.
    key : jax.random.PRNGKey

    Examples
    --------
    >>> net = MLP(2, 1, (16, 16), "tanh", key=jax.random.PRNGKey(0))
    >>> net(jnp.ones(2)).shape
    (1,)
    """

    layers: tuple[eqx.nn.Linear, ...]
    fourier: jax.Array | None
    linear: eqx.nn.Linear | None
    activation: str = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_out: int,
        hidden: tuple[int, ...],
        activation: str = "tanh",
        fourier_features: int = 0,
        fourier_scale: float = 1.0,
        skip: bool = False,
        *,
        key: jax.Array,
    ):
        for name, size in (("n_in", n_in), ("n_out", n_out)):
            if not Int(1).test(size):  # a math domain error or a shape error in JAX otherwise
                raise TgdsError(f"MLP {name} must be a positive integer; got {size!r}.")
        if not isinstance(activation, str) or activation not in ACTIVATIONS:
            raise TgdsError(
                f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}; got {activation!r}."
            )
        if not (isinstance(hidden, tuple | list) and all(Int(1).test(w) for w in hidden)):
            raise TgdsError(
                f"hidden must be a tuple of positive integer widths, e.g. (64, 64); got {hidden!r}."
            )
        if not Int(0).test(fourier_features):
            raise TgdsError(
                f"fourier_features must be a non-negative integer; got {fourier_features!r}."
            )
        if not Real(0, low_open=True, finite=True).test(fourier_scale):
            raise TgdsError(f"fourier_scale must be positive and finite; got {fourier_scale!r}.")
        fkey, skey, *keys = jax.random.split(key, len(hidden) + 3)
        self.fourier = (
            fourier_scale * jax.random.normal(fkey, (n_in, fourier_features))
            if fourier_features > 0
            else None
        )
        sizes = (n_in + 2 * fourier_features, *hidden, n_out)
        self.layers = tuple(
            _glorot(eqx.nn.Linear(a, b, key=k), k)
            for a, b, k in zip(sizes[:-1], sizes[1:], keys, strict=False)
        )
        self.linear = _glorot(eqx.nn.Linear(n_in, n_out, key=skey), skey) if skip else None
        self.activation = activation

    def __call__(self, x: jax.Array) -> jax.Array:
        direct = self.linear(x) if self.linear is not None else 0.0
        if self.fourier is not None:
            proj = x @ jax.lax.stop_gradient(self.fourier)
            x = jnp.concatenate([x, jnp.sin(proj), jnp.cos(proj)])
        act = ACTIVATIONS[self.activation]
        for layer in self.layers[:-1]:
            x = act(layer(x))
        return self.layers[-1](x) + direct

    @property
    def linear_maps(self) -> tuple[eqx.nn.Linear, ...]:
        """The layers and the skip map: everything with trainable weights and biases."""
        return self.layers + ((self.linear,) if self.linear is not None else ())

    @property
    def n_parameters(self) -> int:
        """The number of trainable weights and biases."""
        return sum(layer.weight.size + layer.bias.size for layer in self.linear_maps)


def _glorot(layer: eqx.nn.Linear, key: jax.Array) -> eqx.nn.Linear:
    """Glorot-normal weights and zero biases: the usual start for tanh networks and PINNs."""
    fan_out, fan_in = layer.weight.shape
    std = math.sqrt(2.0 / (fan_in + fan_out))
    weight = std * jax.random.normal(key, layer.weight.shape)
    return eqx.tree_at(lambda m: (m.weight, m.bias), layer, (weight, jnp.zeros_like(layer.bias)))
