"""Compilation of sympy expressions to NumPy and JAX callables.

``sympy.lambdify`` generates Python source and ``exec``-utes it; tgds instead walks the
(already whitelisted) sympy tree once and builds nested closures over the backend's
functions. Under ``jax.jit`` the closures are traced once, so there is no run-time cost.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType

import numpy as np
import sympy

from tgds.exceptions import DataError, TheoryError

__all__ = ["compile_sympy", "CompiledExpression"]

Fn = Callable[[Mapping[str, object]], object]

_UNARY = {
    sympy.exp: "exp",
    sympy.log: "log",
    sympy.sin: "sin",
    sympy.cos: "cos",
    sympy.tan: "tan",
    sympy.asin: "arcsin",
    sympy.acos: "arccos",
    sympy.atan: "arctan",
    sympy.sinh: "sinh",
    sympy.cosh: "cosh",
    sympy.tanh: "tanh",
    sympy.Abs: "abs",
    sympy.sign: "sign",
}
_RELATIONS = {
    sympy.StrictLessThan: "less",
    sympy.LessThan: "less_equal",
    sympy.StrictGreaterThan: "greater",
    sympy.GreaterThan: "greater_equal",
}


def compile_sympy(expr: sympy.Basic, xp: ModuleType) -> Fn:
    """Return ``f(values) -> array`` computing ``expr`` with the array module ``xp``."""
    if isinstance(expr, sympy.Symbol):
        name = expr.name
        return lambda v: v[name]
    if isinstance(expr, sympy.Number | sympy.NumberSymbol):
        value = float(expr)
        return lambda v: value
    if isinstance(expr, sympy.logic.boolalg.BooleanAtom):
        value = bool(expr)
        return lambda v: value
    if isinstance(expr, sympy.Add | sympy.Mul):
        parts = [compile_sympy(a, xp) for a in expr.args]
        op = operator.add if isinstance(expr, sympy.Add) else operator.mul
        return lambda v: functools.reduce(op, (p(v) for p in parts))
    if isinstance(expr, sympy.Pow):
        return _compile_pow(expr, xp)
    if isinstance(expr, sympy.Min | sympy.Max):
        parts = [compile_sympy(a, xp) for a in expr.args]
        fn = xp.minimum if isinstance(expr, sympy.Min) else xp.maximum
        return lambda v: functools.reduce(fn, (p(v) for p in parts))
    if isinstance(expr, sympy.Piecewise):
        return _compile_piecewise(expr, xp)
    if isinstance(expr, sympy.Heaviside | sympy.DiracDelta):
        return _compile_step(expr, xp)
    if isinstance(expr, sympy.ITE | sympy.And | sympy.Or | sympy.Not):
        return _compile_logic(expr, xp)
    for cls, fname in _RELATIONS.items():
        if isinstance(expr, cls):
            a, b = (compile_sympy(x, xp) for x in expr.args)
            fn = getattr(xp, fname)
            return lambda v: fn(a(v), b(v))
    for cls, fname in _UNARY.items():
        if isinstance(expr, cls):
            (a,) = (compile_sympy(x, xp) for x in expr.args)
            fn = getattr(xp, fname)
            return lambda v: fn(a(v))
    raise TheoryError(f"cannot compile the sympy node {type(expr).__name__} in {expr}")


def _compile_pow(expr: sympy.Pow, xp: ModuleType) -> Fn:
    base, expo = expr.args
    b = compile_sympy(base, xp)
    if expo == sympy.Rational(1, 2):
        return lambda v: xp.sqrt(b(v))
    if expo == -1:
        return lambda v: 1.0 / b(v)
    if expo.is_Integer and 0 < int(expo) <= 8:
        n = int(expo)
        return lambda v: functools.reduce(operator.mul, [b(v)] * n) if n > 1 else b(v)
    e = compile_sympy(expo, xp)
    return lambda v: xp.power(b(v), e(v))


def _compile_piecewise(expr: sympy.Piecewise, xp: ModuleType) -> Fn:
    branches = [(compile_sympy(val, xp), compile_sympy(cond, xp)) for val, cond in expr.args]

    def piecewise(v: Mapping[str, object]) -> object:
        result = branches[-1][0](v)
        for val, cond in reversed(branches[:-1]):
            result = xp.where(cond(v), val(v), result)
        return result

    return piecewise


def _compile_step(expr: sympy.Heaviside | sympy.DiracDelta, xp: ModuleType) -> Fn:
    """Heaviside and DiracDelta, which sympy's derivatives of max, min, abs and sign contain."""
    if isinstance(expr, sympy.DiracDelta):
        # The derivative of a jump: zero everywhere but at the jump, where no number is right.
        return lambda v: 0.0
    arg, at_zero = (compile_sympy(a, xp) for a in expr.args)  # Heaviside(x, value at x = 0)
    return lambda v: xp.heaviside(arg(v), at_zero(v))


def _compile_logic(expr: sympy.Basic, xp: ModuleType) -> Fn:
    """Conditions sympy builds when a where() is compared, e.g. ITE(x > 0, x > 1, y > 1)."""
    parts = [compile_sympy(a, xp) for a in expr.args]
    if isinstance(expr, sympy.ITE):
        cond, a, b = parts
        return lambda v: xp.where(cond(v), a(v), b(v))
    if isinstance(expr, sympy.Not):
        (a,) = parts
        return lambda v: xp.logical_not(a(v))
    fn = xp.logical_and if isinstance(expr, sympy.And) else xp.logical_or
    return lambda v: functools.reduce(fn, (p(v) for p in parts))


class CompiledExpression:
    """A compiled expression: call it with a mapping of name -> array.

    Parameters
    ----------
    expr : sympy.Expr
        The expression.
    backend : {"numpy", "jax"}
        The array library to compute with.
    label : str
        Names the expression in error messages.
    names : iterable of str
        Names needed besides the free symbols of ``expr``: the names written in the text
        of an expression that sympy simplified away (``x - x`` is 0). Their values are
        required, and the result is broadcast to their shapes.

    Examples
    --------
    >>> from tgds.theory import Expression
    >>> f = Expression("a*x + b").to_numpy()
    >>> f({"a": 2.0, "x": np.array([1.0, 2.0]), "b": 1.0})
    array([3., 5.])
    """

    def __init__(
        self,
        expr: sympy.Expr,
        backend: str,
        label: str = "expression",
        names: Iterable[str] = (),
    ):
        if backend == "numpy":
            xp = np
        elif backend == "jax":
            import jax.numpy as xp  # noqa: PLC0415 - JAX is imported only when asked for
        else:
            raise TheoryError(f"backend must be 'numpy' or 'jax'; got {backend!r}.")
        self.backend = backend
        self.label = label
        self.names = tuple(sorted({s.name for s in expr.free_symbols} | set(names)))
        self._xp = xp
        self._fn = compile_sympy(expr, xp)

    def __call__(self, values: Mapping[str, object]) -> object:
        missing = [n for n in self.names if n not in values]
        if missing:
            raise DataError(
                f"{self.label} needs values for {', '.join(map(repr, missing))}; got values for "
                f"{', '.join(map(repr, sorted(values))) or 'nothing'}."
            )
        xp = self._xp
        arrays = {n: xp.asarray(values[n], dtype=float) for n in self.names}
        out = xp.asarray(self._fn(arrays), dtype=float)
        if arrays:
            shape = np.broadcast_shapes(*(np.shape(a) for a in arrays.values()))
            out = xp.broadcast_to(out, shape)
        return out

    def __repr__(self) -> str:
        return f"CompiledExpression({self.label}, backend={self.backend!r}, names={self.names})"
