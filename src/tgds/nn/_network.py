"""``PhysicalNetwork``: a network that takes and returns values in physical units.

Training works on standardised values, but physics does not: derivatives, residuals
and constraints must be computed in the theory's units. The wrapper standardises its
inputs, runs the network, maps the result back to physical units and, optionally,
applies a *hard* bounds transform. Because the whole map is one JAX function of the
physical inputs, ``jax.grad`` of it gives derivatives in physical units directly.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np

from tgds.nn._mlp import MLP

__all__ = ["PhysicalNetwork", "l2_penalty", "trainable_filter"]


class PhysicalNetwork(eqx.Module):
    """``y = transform(net((x - x_shift) / x_scale) * y_scale + y_shift [+ x[base]])`` for one point.

    With ``base_inputs`` (one input index per output, -1 for none) the network learns a
    correction added to that input, e.g. to a physics model's output given as a column.

    ``x_lower``/``x_upper`` (one per input, ``±inf`` for none) clip the inputs the network
    sees, e.g. to the range seen in training: outside it the network's part of the output
    stays at its value on the edge of that range instead of extrapolating. The residual
    base is never clipped, so a physics model given as a column carries the extrapolation.
    With ``fade`` the box is not a clip: the network sees its inputs as they are and its
    output is multiplied by :meth:`in_range`, which falls from one on the box to zero one
    standard deviation outside it. (A clipped correction would stay frozen while the fade
    changes, a trend along the clipped input that no physics term can undo.)

    ``lower``/``upper`` (one per output, ``±inf`` for none) define the hard output
    transform when ``hard_bounds`` is set: ``lower + (upper - lower) * sigmoid(...)`` for
    two-sided limits and a scaled ``softplus`` for one-sided limits, each with slope one
    where the network is far from the limits.
    """

    net: MLP
    x_shift: jax.Array
    x_scale: jax.Array
    y_shift: jax.Array
    y_scale: jax.Array
    lower: jax.Array
    upper: jax.Array
    x_lower: jax.Array
    x_upper: jax.Array
    hard_bounds: bool = eqx.field(static=True)
    base_inputs: tuple[int, ...] = eqx.field(static=True, default=())
    fade: bool = eqx.field(static=True, default=False)

    def __call__(self, x: jax.Array) -> jax.Array:
        y = self.net(self._standardised(x)) * self.y_scale + self.y_shift
        if self.fade:
            y = y * self.in_range(x)
        if self.base_inputs:  # residual learning: the network corrects an input (a physics model)
            y = y + jnp.stack([x[i] if i >= 0 else jnp.zeros_like(x[0]) for i in self.base_inputs])
        if not self.hard_bounds:
            return y
        return _bounded(y, self.lower, self.upper, self.y_scale)

    def raw(self, x: jax.Array) -> jax.Array:
        """The output before the final affine map and transform (logits for classifiers)."""
        return self.net(self._standardised(x))

    def in_range(self, x: jax.Array) -> jax.Array:
        """``(1 - d²)²`` for ``d < 1``, else 0: ``d`` is the distance of ``x`` outside the
        clipping box in units of the inputs' training standard deviations. One inside the
        box, exactly zero one standard deviation outside it."""
        outside = (jax.nn.relu(self.x_lower - x) + jax.nn.relu(x - self.x_upper)) / self.x_scale
        return jax.nn.relu(1.0 - jnp.sum(outside**2)) ** 2

    def _standardised(self, x: jax.Array) -> jax.Array:
        if not self.fade:
            # not jnp.clip, whose gradient is 1/2 where x lies on the box's edge: derivatives
            # (physics terms) at the training rows with an input's min or max would halve
            x = jnp.where(
                x < self.x_lower, self.x_lower, jnp.where(x > self.x_upper, self.x_upper, x)
            )
        return (x - self.x_shift) / self.x_scale


def _bounded(y: jax.Array, lo: jax.Array, hi: jax.Array, scale: jax.Array) -> jax.Array:
    has_lo, has_hi = jnp.isfinite(lo), jnp.isfinite(hi)
    lo_f = jnp.where(has_lo, lo, 0.0)
    hi_f = jnp.where(has_hi, hi, 1.0)
    width = jnp.where(has_lo & has_hi, hi_f - lo_f, 1.0)
    both = lo_f + width * jax.nn.sigmoid(4.0 * (y - (lo_f + hi_f) / 2) / width)
    above = lo_f + scale * jax.nn.softplus((y - lo_f) / scale)
    below = hi_f - scale * jax.nn.softplus((hi_f - y) / scale)
    return jnp.where(has_lo & has_hi, both, jnp.where(has_lo, above, jnp.where(has_hi, below, y)))


def make_network(
    x: np.ndarray,
    y: np.ndarray,
    *,
    hidden: tuple[int, ...],
    activation: str,
    fourier_features: int,
    fourier_scale: float,
    skip: bool = False,
    lower: np.ndarray,
    upper: np.ndarray,
    hard_bounds: bool,
    key: jax.Array,
    base_inputs: tuple[int, ...] = (),
    clip_inputs: bool = False,
    fade: bool = False,
) -> PhysicalNetwork:
    """A :class:`PhysicalNetwork` whose scalers are fitted to ``x`` and ``y`` (2-D arrays).

    With ``base_inputs`` the output scaler is fitted to the residual ``y - x[:, base]``;
    with ``clip_inputs`` the range of ``x`` becomes the box of the network: its inputs are
    clipped to it, or with ``fade`` its output fades outside it.
    """
    x_shift, x_scale = _affine(x)
    if base_inputs:
        y = y - np.column_stack([x[:, i] if i >= 0 else np.zeros(len(x)) for i in base_inputs])
    y_shift, y_scale = _affine(y)
    net = MLP(
        x.shape[1],
        y.shape[1],
        tuple(hidden),
        activation,
        fourier_features,
        fourier_scale,
        skip,
        key=key,
    )
    as_f = lambda a: jnp.asarray(a, dtype=jnp.result_type(float))  # noqa: E731
    return PhysicalNetwork(
        net,
        as_f(x_shift),
        as_f(x_scale),
        as_f(y_shift),
        as_f(y_scale),
        as_f(lower),
        as_f(upper),
        as_f(np.min(x, axis=0) if clip_inputs and len(x) else np.full(x.shape[1], -np.inf)),
        as_f(np.max(x, axis=0) if clip_inputs and len(x) else np.full(x.shape[1], np.inf)),
        bool(hard_bounds),
        tuple(int(i) for i in base_inputs),
        bool(fade),
    )


def _affine(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shift = np.nanmean(a, axis=0) if a.size else np.zeros(a.shape[1])
    scale = np.nanstd(a, axis=0) if a.size else np.ones(a.shape[1])
    scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
    return np.nan_to_num(shift), scale


def trainable_filter(model: PhysicalNetwork) -> PhysicalNetwork:
    """A pytree of booleans: ``True`` for the network's weights and biases only.

    Scalers, bounds and Fourier frequencies are fixed during training.
    """
    spec = jtu.tree_map(lambda _: False, model)
    layers = tuple(jtu.tree_map(eqx.is_inexact_array, layer) for layer in model.net.layers)
    spec = eqx.tree_at(lambda m: m.net.layers, spec, layers)
    if model.net.linear is not None:
        spec = eqx.tree_at(
            lambda m: m.net.linear, spec, jtu.tree_map(eqx.is_inexact_array, model.net.linear)
        )
    return spec


def count_parameters(model: PhysicalNetwork) -> int:
    """Trainable parameters of the network."""
    return int(
        sum(
            math.prod(leaf.shape)
            for leaf in jtu.tree_leaves(eqx.filter(model, trainable_filter(model)))
        )
    )


def l2_penalty(strength: float):
    """``penalty(model) = strength * sum of squared weights`` of the network's layers and
    linear skip map (biases, scalers and Fourier frequencies are not penalised)."""

    def penalty(model: PhysicalNetwork) -> jax.Array:
        return strength * sum(jnp.sum(layer.weight**2) for layer in model.net.linear_maps)

    return penalty
