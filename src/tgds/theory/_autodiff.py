"""Derivatives of a field (a model's output) with respect to its inputs, by automatic differentiation.

An equation such as ``D(u, t) + u*D(u, x) - nu*D(u, x, 2)`` needs the values of
``u``, ``D(u, t)``, ``D(u, x)`` and ``D(u, x, 2)`` at each point. Given the field as
a JAX function of one point (in physical units), :func:`field_derivatives` returns a
vectorised function that computes all of them, each by nested forward-mode
directional derivatives (``jax.jvp``), which is exact and cheap for low orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from tgds.exceptions import TheoryError
from tgds.theory._build import DerivativeSpec

__all__ = ["field_derivatives"]


def field_derivatives(
    field: Callable,
    derivatives: Iterable[DerivativeSpec],
    inputs: Sequence[str],
    fields: Sequence[str],
) -> Callable:
    """Vectorised values and derivatives of ``field``.

    Parameters
    ----------
    field : callable
        ``field(x) -> y``: ``x`` a 1-D JAX array with one entry per name in ``inputs``,
        ``y`` a 1-D array with one entry per name in ``fields``.
    derivatives : iterable of DerivativeSpec
        The derivatives wanted, e.g. ``Expression(...).derivatives``.
    inputs, fields : sequence of str
        Names of the entries of ``x`` and ``y``.

    Returns
    -------
    callable
        ``f(points) -> dict``: ``points`` of shape ``(n, len(inputs))``; the dict maps
        each field name and each derivative key (``"D(u, x, 2)"``) to an array ``(n,)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from tgds.theory import Expression
    >>> e = Expression("D(u, x, 2)")
    >>> f = field_derivatives(lambda p: jnp.sin(p[:1]), e.derivatives, ["x"], ["u"])
    >>> float(f(jnp.array([[0.5]]))["D(u, x, 2)"][0])  # -sin(0.5)
    -0.479425...
    """
    import jax  # noqa: PLC0415 - JAX only when differentiation is asked for
    import jax.numpy as jnp  # noqa: PLC0415

    in_index = {n: i for i, n in enumerate(inputs)}
    out_index = {n: i for i, n in enumerate(fields)}
    specs = sorted(set(derivatives))
    for spec in specs:
        if spec.field not in out_index:
            raise TheoryError(
                f"{spec.key} differentiates {spec.field!r}, which is not a field; fields: {list(fields)}."
            )
        for w in spec.wrt:
            if w not in in_index:
                raise TheoryError(
                    f"{spec.key} differentiates with respect to {w!r}, which is not an input; inputs: {list(inputs)}."
                )
    n_in = len(inputs)

    def directional(g: Callable, i: int) -> Callable:
        tangent = jnp.zeros(n_in).at[i].set(1.0)
        return lambda x: jax.jvp(g, (x,), (tangent.astype(x.dtype),))[1]

    def derivative_fn(spec: DerivativeSpec) -> Callable:
        k = out_index[spec.field]
        g = lambda x: field(x)[k]  # noqa: E731
        for w in spec.wrt:
            g = directional(g, in_index[w])
        return g

    fns = {spec.key: derivative_fn(spec) for spec in specs}

    def at_point(x: jnp.ndarray) -> dict:
        y = field(x)
        values = {name: y[k] for name, k in out_index.items()}
        values.update({key: fn(x) for key, fn in fns.items()})
        return values

    # integer points would give integer tangents, which jax.jvp refuses
    return lambda points: jax.vmap(at_point)(jnp.asarray(points, dtype=float))
