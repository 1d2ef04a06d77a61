"""Compilation of sympy expressions to NumPy and JAX callables.

``sympy.lambdify`` generates Python source and ``exec``-utes it; tgds instead walks the
(already whitelisted) sympy tree once and builds nested closures over the backend's
functions. Under ``jax.jit`` the closures are traced once, so there is no run-time cost.
"""

from __future__ import annotations

import functools
import numbers
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
    # x**0.5 too: xp.power(-inf, 0.5) is nan in NumPy but inf in JAX (C's pow); sqrt is nan
    if expo.is_Number and float(expo) == 0.5:
        return lambda v: xp.sqrt(b(v))
    if expo == -1:
        return lambda v: 1.0 / b(v)
    if expo.is_Integer and 0 < int(expo) <= 8:
        n = int(expo)
        return lambda v: functools.reduce(operator.mul, [b(v)] * n) if n > 1 else b(v)
    e = compile_sympy(expo, xp)
    return lambda v: xp.power(b(v), e(v))


def _compile_piecewise(expr: sympy.Piecewise, xp: ModuleType) -> Fn:
    """``where(...)``: the value of the first branch whose condition holds.

    With JAX, each branch sees its inputs cut from the gradient where it is not taken.
    ``jnp.where`` gives a branch not taken a zero cotangent, but zero times that branch's
    infinite or NaN derivative there (``sqrt`` of a negative number) is NaN, which would
    reach the inputs. The values are unchanged.
    """
    values = [compile_sympy(val, xp) for val, _ in expr.args]
    conds = [compile_sympy(cond, xp) for _, cond in expr.args[:-1]]
    names = [sorted(s.name for s in val.free_symbols) for val, _ in expr.args]

    def piecewise(v: Mapping[str, object]) -> object:
        holds = [c(v) for c in conds]
        if xp is np:  # no gradients to guard
            parts = [f(v) for f in values]
        else:
            parts = _guarded_branches(v, holds, values, names, xp)
        result = parts[-1]
        for part, c in reversed(list(zip(parts[:-1], holds, strict=True))):
            result = xp.where(c, part, result)
        return result

    return piecewise


def _guarded_branches(
    v: Mapping[str, object], holds: list, values: list[Fn], names: list[list[str]], xp: ModuleType
) -> list:
    """Each branch's value, its inputs ``names`` cut from the gradient where it is not
    taken (an earlier condition holds, or its own does not)."""
    from jax.lax import stop_gradient  # noqa: PLC0415 - only reached on the JAX backend

    parts, before = [], False
    for f, branch_names, c in zip(values, names, [*holds, True], strict=True):
        taken = xp.logical_and(c, xp.logical_not(before))
        before = xp.logical_or(before, c)
        held = {n: xp.where(taken, v[n], stop_gradient(v[n])) for n in branch_names}
        parts.append(f({**v, **held}))
    return parts


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


_NUMERIC_KINDS = frozenset("biuf")  # bool, signed and unsigned integers, floats


def _is_missing(x: object) -> bool:
    """None or pandas' NA, the missing values an object column holds."""
    return x is None or type(x).__name__ == "NAType"


def _object_numbers(array: np.ndarray) -> tuple[np.ndarray | None, object]:
    """An object array as floats (missing values as NaN), and None; or None and its first
    element that is not a real number or a missing value."""
    out = np.empty(array.shape, dtype=float)
    for i, x in enumerate(array.flat):
        if _is_missing(x):
            out.flat[i] = np.nan
        elif isinstance(x, numbers.Real | np.bool_):
            out.flat[i] = float(x)
        else:
            return None, x
    return out, None


def _is_jax_array(value: object) -> bool:
    import jax  # noqa: PLC0415 - only reached on the JAX backend

    return isinstance(value, jax.Array)


def _numbers(label: str, name: str, value: object, jax: bool) -> object:
    """``value`` as numbers (missing values in an object array as NaN); a :class:`DataError`
    naming ``name`` when it holds anything else: text, None, dates, complex numbers.

    Arrays of the JAX backend (and its tracers, under ``jax.jit``) hold numbers by
    construction and are passed through untouched.
    """
    if jax and _is_jax_array(value):
        return value
    what = f"{label}: the value of {name!r} must be numeric (a number or an array of numbers)"
    if value is None:
        raise DataError(f"{what}; got None (write a missing value as NaN).")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:  # e.g. nested lists of unequal lengths
        raise DataError(
            f"{what}; got {type(value).__name__} that NumPy cannot make an array of ({err})."
        ) from None
    if array.dtype.kind in _NUMERIC_KINDS:
        return array
    converted, bad = _object_numbers(array) if array.dtype.kind == "O" else (None, None)
    if converted is not None:
        return converted
    got = f"{type(value).__name__} {value!r:.40}"
    if array.ndim:
        got = f"{type(value).__name__} of dtype {array.dtype}"
        if array.dtype.kind == "O":
            got += f" holding {type(bad).__name__} {bad!r:.40}"
    raise DataError(f"{what}; got {got}.")


def _common_shape(label: str, shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...] | None:
    """The shape the values broadcast to; a :class:`DataError` naming the one that does not."""
    if not shapes:
        return None
    shape: tuple[int, ...] = ()
    seen: list[str] = []
    for name, this in shapes.items():
        try:
            shape = np.broadcast_shapes(shape, this)
        except ValueError:
            raise DataError(
                f"{label}: the values must have shapes that broadcast together (equal, or 1 "
                f"along each axis where they differ); got {name!r} of shape {this}, which does "
                f"not broadcast with shape {shape} (of {', '.join(map(repr, seen))})."
            ) from None
        seen.append(name)
    return shape


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

    Calling it raises :class:`~tgds.exceptions.DataError`, naming the value, when a value
    is missing, is not numeric (text, None, dates, complex numbers; a missing value in an
    object array is NaN), or has a shape that does not broadcast with the others'.

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
        jax = self.backend == "jax"
        arrays = {
            n: xp.asarray(_numbers(self.label, n, values[n], jax), dtype=float) for n in self.names
        }
        shape = _common_shape(self.label, {n: np.shape(a) for n, a in arrays.items()})
        out = xp.asarray(self._fn(arrays), dtype=float)
        return out if shape is None else xp.broadcast_to(out, shape)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.label}, backend={self.backend!r}, names={self.names})"
