"""``Expression``: a parsed, validated theory expression.

An :class:`Expression` holds the text a person wrote and the sympy expression built
from it by the whitelist parser. It knows the names it uses and the derivatives
``D(u, x)`` it contains, compiles to NumPy and JAX callables, and differentiates
symbolically. Units are checked when a :class:`~tgds.theory.Theory` binds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sympy

from tgds.exceptions import TheoryError
from tgds.theory._build import Binding, Built, DerivativeSpec, build, symbol
from tgds.theory._compile import CompiledExpression
from tgds.theory._parser import ParseContext, parse_ast

__all__ = ["Expression", "DerivativeSpec", "as_expression"]


class Expression:
    """A theory expression, parsed by the whitelist parser.

    Parameters
    ----------
    text : str
        Names, numbers, ``+ - * / **``, and calls of ``exp log log10 sqrt sin cos tan
        arcsin arccos arctan sinh cosh tanh abs sign min max where D``. Derivatives are
        written ``D(u, x)``, ``D(u, x, 2)`` or ``D(D(u, x), t)``.
    equation : bool
        Accept one top-level ``lhs == rhs``, read as the residual ``lhs - rhs``.
    owner : str
        Names the owner in error messages.

    Examples
    --------
    >>> e = Expression("D(u, t) + u*D(u, x) - nu*D(u, x, 2)")
    >>> sorted(e.names)
    ['nu', 't', 'u', 'x']
    >>> sorted(d.key for d in e.derivatives)
    ['D(u, t)', 'D(u, x)', 'D(u, x, 2)']
    >>> Expression("x.__class__")
    Traceback (most recent call last):
    ...
    tgds.exceptions.TheoryError: expression 'x.__class__': not allowed in theory expressions: attribute access ...
    """

    __slots__ = ("text", "equation", "_ast", "_built", "_owner")

    def __init__(self, text: str, *, equation: bool = False, owner: str = "expression"):
        body = parse_ast(text, owner=owner, allow_equation=equation)
        stripped = text.strip()
        object.__setattr__(self, "text", stripped)
        object.__setattr__(self, "equation", bool(equation))
        object.__setattr__(self, "_ast", body)
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_built", build(ParseContext(stripped, owner), body))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Expression is immutable; cannot set {name!r}.")

    # -- identity ---------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Expression):
            return self.text == other.text and self.equation == other.equation
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.text, self.equation))

    # Immutable: copies are the object itself; pickling (for joblib workers and
    # scikit-learn's in-memory checks, never for files) re-parses the text.
    def __copy__(self) -> Expression:
        return self

    def __deepcopy__(self, memo: dict) -> Expression:
        return self

    def __reduce__(self) -> tuple:
        return (_rebuild, (self.text, self.equation, self._owner))

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __str__(self) -> str:
        return self.text

    # -- content ----------------------------------------------------------------------
    @property
    def sympy(self) -> sympy.Expr:
        """The sympy expression (derivatives appear as symbols named by their key)."""
        return self._built.expr

    @property
    def derivatives(self) -> frozenset[DerivativeSpec]:
        """The derivatives ``D(...)`` the expression contains."""
        return self._built.derivatives

    @property
    def names(self) -> frozenset[str]:
        """Every variable, parameter or relation name written, including those in ``D(...)``.

        Taken from the text, not from the sympy expression: ``x - x`` uses ``x``.
        """
        return (
            self._built.names
            | {d.field for d in self.derivatives}
            | {w for d in self.derivatives for w in d.wrt}
        )

    def _value_names(self) -> frozenset[str]:
        """The names whose values evaluation needs: names outside ``D(...)`` and derivative keys."""
        return self._built.names | {d.key for d in self.derivatives}

    def bind(self, env: Mapping[str, Binding], owner: str | None = None) -> Built:
        """Build again with the units and meanings in ``env``; checks dimensions.

        Returns the sympy expression (relations inlined, unit conversions inserted),
        its unit, and its derivatives. Raises :class:`~tgds.exceptions.UnitError` on
        inconsistent dimensions and :class:`~tgds.exceptions.TheoryError` on unknown names.
        """
        return build(ParseContext(self.text, owner or self._owner), self._ast, env)

    # -- compiled forms ---------------------------------------------------------------
    def to_numpy(self) -> CompiledExpression:
        """A NumPy callable ``f(values)``; ``values`` maps each name (and derivative key) to an array."""
        return CompiledExpression(
            self.sympy, "numpy", f"{self._owner} {self.text!r}", self._value_names()
        )

    def to_jax(self) -> CompiledExpression:
        """A JAX callable ``f(values)``, traceable by ``jax.jit``, ``jax.grad`` and ``jax.vmap``."""
        return CompiledExpression(
            self.sympy, "jax", f"{self._owner} {self.text!r}", self._value_names()
        )

    def evaluate(self, values: Mapping[str, object]) -> object:
        """Evaluate with NumPy. ``values`` maps names to numbers or arrays."""
        return self.to_numpy()(values)

    def diff(self, name: str, n: int = 1) -> SymbolicExpression:
        """The symbolic derivative with respect to ``name`` (derivative symbols are held fixed).

        Examples
        --------
        >>> Expression("x**3 + sin(x)").diff("x").sympy
        3*x**2 + cos(x)
        """
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise TheoryError(f"the order of diff() must be a positive integer; got {n!r}.")
        if name not in self.names:
            raise TheoryError(
                f"cannot differentiate {self.text!r} with respect to {name!r}: it does not use that name."
            )
        return SymbolicExpression(
            sympy.diff(self.sympy, symbol(name), n),
            f"d{n}({self.text})/d{name}{n}",
            self._value_names(),
        )


class SymbolicExpression:
    """An expression made by tgds from sympy (e.g. a symbolic derivative); not parsed from text.

    ``names`` are needed besides the free symbols of ``expr``, as in :class:`CompiledExpression`:
    the derivative of ``x**2`` three times is 0, but still has the shape of ``x``.
    """

    __slots__ = ("sympy", "label", "_names")

    def __init__(self, expr: sympy.Expr, label: str, names: Iterable[str] = ()):
        self.sympy = expr
        self.label = label
        self._names = frozenset(names)

    def to_numpy(self) -> CompiledExpression:
        return CompiledExpression(self.sympy, "numpy", self.label, self._names)

    def to_jax(self) -> CompiledExpression:
        return CompiledExpression(self.sympy, "jax", self.label, self._names)

    def evaluate(self, values: Mapping[str, object]) -> object:
        return self.to_numpy()(values)

    def __repr__(self) -> str:
        return f"SymbolicExpression({self.sympy})"


def as_expression(value: object, owner: str, equation: bool = False) -> Expression:
    """Accept an :class:`Expression` or its text; anything else is a :class:`TheoryError`."""
    if isinstance(value, Expression):
        if equation and not value.equation:
            return Expression(value.text, equation=True, owner=owner)
        return value
    if isinstance(value, str):
        return Expression(value, equation=equation, owner=owner)
    raise TheoryError(
        f"{owner} must be an expression string; got {type(value).__name__} {value!r:.60}."
    )


def _rebuild(text: str, equation: bool, owner: str) -> Expression:
    return Expression(text, equation=equation, owner=owner)
