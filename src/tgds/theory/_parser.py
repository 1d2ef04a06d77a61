"""The whitelist parser for theory expressions.

Text from a theory file is parsed with Python's ``ast`` module in ``eval`` mode and
then walked node by node; only the node kinds listed here are accepted. Nothing is
ever passed to ``eval``, ``exec``, ``compile`` of user text or ``sympy.sympify``: the
accepted tree is converted to sympy by :mod:`tgds.theory._build`, one node at a time.

Accepted: names (identifiers not starting with ``_``), int and float literals, unary
``+``/``-``, binary ``+ - * / **``, calls of the functions in :data:`FUNCTIONS`, and
comparisons ``< <= > >=`` as the first argument of ``where``; ``==`` is accepted once,
at the top of an equation (``lhs == rhs``). Everything else is refused with a
:class:`~tgds.exceptions.TheoryError` that quotes the offending part and its column.

Besides the length, depth and size of the text, two costs that grow faster than the
text are bounded: the total order of a derivative (``D(D(u, x, 4), x, 4)`` is of order
8; automatic differentiation of order n costs exponentially in n) and the work of
``min``/``max`` (sympy compares every pair of the arguments of one call, nested calls
of the same function included, since it flattens them).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

from tgds.exceptions import TheoryError

__all__ = [
    "FUNCTIONS",
    "RESERVED_NAMES",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_TOTAL_DERIVATIVE_ORDER",
    "MAX_EXTREMUM_WORK",
    "parse_ast",
]

#: Function name -> (min arity, max arity). ``None`` means any number >= min.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "exp": (1, 1),
    "log": (1, 1),
    "log10": (1, 1),
    "sqrt": (1, 1),
    "sin": (1, 1),
    "cos": (1, 1),
    "tan": (1, 1),
    "arcsin": (1, 1),
    "arccos": (1, 1),
    "arctan": (1, 1),
    "sinh": (1, 1),
    "cosh": (1, 1),
    "tanh": (1, 1),
    "abs": (1, 1),
    "sign": (1, 1),
    "min": (2, None),
    "max": (2, None),
    "where": (3, 3),
    "D": (2, 3),
}
#: Names that cannot be used for variables, parameters or relations.
RESERVED_NAMES = frozenset(FUNCTIONS) | {"pi"}
MAX_LENGTH = 4000
MAX_DEPTH = 40
MAX_NODES = 2000
MAX_NAME_LENGTH = 64
MAX_INT_LITERAL = 10**18
MAX_DERIVATIVE_ORDER = 4
#: The highest total order of a derivative, nested D(...) included: nested forward-mode
#: differentiation of order n costs exponentially in n (order 10 takes minutes to trace).
MAX_TOTAL_DERIVATIVE_ORDER = 8
#: The largest sum, over the min()/max() calls of an expression, of the squared number of
#: arguments (nested calls of the same function counted as one call, as sympy flattens
#: them): sympy compares every pair of arguments, at great cost for symbolic ones.
MAX_EXTREMUM_WORK = 32**2

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_UNARY = (ast.UAdd, ast.USub)
_ORDER_CMP = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_NODE_WORDS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda functions",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.IfExp: "conditional expressions (use where(cond, a, b))",
    ast.BoolOp: "'and'/'or' (use where(...) with one comparison)",
    ast.NamedExpr: "assignment expressions",
    ast.Starred: "starred arguments",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.JoinedStr: "strings",
    ast.FormattedValue: "strings",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


@dataclass(frozen=True)
class ParseContext:
    """The text being parsed and a label naming its owner, for error messages."""

    text: str
    owner: str = "expression"

    def fail(self, node: ast.AST | None, why: str) -> TheoryError:
        """Build an error that quotes the offending part of the text and its column."""
        where = ""
        if node is not None and getattr(node, "col_offset", None) is not None:
            segment = ast.get_source_segment(self.text, node) or ""
            col = node.col_offset
            shown = segment if len(segment) <= 60 else segment[:57] + "..."
            where = f" at column {col + 1}: {shown!r}\n    {self.text}\n    {' ' * col}^"
        return TheoryError(f"{self.owner} {_short(self.text)}: {why}{where}")


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def parse_ast(text: object, owner: str = "expression", allow_equation: bool = False) -> ast.expr:
    """Parse ``text`` and return its validated ``ast`` body.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"D(u, t) + u*D(u, x) - nu*D(u, x, 2)"``.
    owner : str
        Names the owner in error messages, e.g. ``"relation 'density'"``.
    allow_equation : bool
        Accept one top-level ``lhs == rhs``.

    Raises
    ------
    TheoryError
        If the text is not a string, is too long or too deep, does not parse, or uses
        anything outside the whitelist.
    """
    if not isinstance(text, str):
        raise TheoryError(
            f"{owner} must be a string expression; got {type(text).__name__} {text!r:.80}."
        )
    if len(text) > MAX_LENGTH:
        raise TheoryError(
            f"{owner} is {len(text)} characters long; at most {MAX_LENGTH} are accepted."
        )
    if not text.strip():
        raise TheoryError(f"{owner} is empty; expected an expression such as 'a*x + b'.")
    if not text.isprintable() and any(c not in " \t\n" and not c.isprintable() for c in text):
        raise TheoryError(f"{owner} {_short(text)} contains non-printable characters.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        col = f" (column {err.offset})" if err.offset else ""
        raise TheoryError(
            f"{owner} {_short(text)} is not a valid expression{col}: {err.msg}."
        ) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as err:
        raise TheoryError(
            f"{owner} {_short(text)} could not be parsed: {type(err).__name__}."
        ) from None
    ctx = ParseContext(text.strip(), owner)
    body = tree.body
    _check_size(ctx, body)
    if (
        allow_equation
        and isinstance(body, ast.Compare)
        and len(body.ops) == 1
        and isinstance(body.ops[0], ast.Eq)
    ):
        _check(ctx, body.left, comparison_ok=False)
        _check(ctx, body.comparators[0], comparison_ok=False)
    else:
        _check(ctx, body, comparison_ok=False)
    _check_extremum_work(ctx, body)
    return body


def _check_size(ctx: ParseContext, body: ast.AST) -> None:
    count = 0
    stack = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise ctx.fail(node, f"nested more than {MAX_DEPTH} levels deep")
        if count > MAX_NODES:
            raise ctx.fail(None, f"has more than {MAX_NODES} parts")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check(ctx: ParseContext, node: ast.AST, comparison_ok: bool) -> None:
    if isinstance(node, ast.Constant):
        _check_constant(ctx, node)
    elif isinstance(node, ast.Name):
        _check_name(ctx, node)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, _UNARY):
            raise ctx.fail(
                node, f"the operator {type(node.op).__name__} is not allowed; only unary + and -"
            )
        _check(ctx, node.operand, False)
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINOPS):
            raise ctx.fail(node, f"the operator {_op_word(node.op)} is not allowed; use + - * / **")
        _check(ctx, node.left, False)
        _check(ctx, node.right, False)
    elif isinstance(node, ast.Call):
        _check_call(ctx, node)
    elif isinstance(node, ast.Compare):
        if not comparison_ok:
            raise ctx.fail(
                node, "a comparison is only allowed as the first argument of where(cond, a, b)"
            )
        if len(node.ops) != 1 or not isinstance(node.ops[0], _ORDER_CMP):
            raise ctx.fail(node, "only one comparison with <, <=, > or >= is allowed")
        _check(ctx, node.left, False)
        _check(ctx, node.comparators[0], False)
    else:
        word = _NODE_WORDS.get(type(node), f"{type(node).__name__} nodes")
        raise ctx.fail(node, f"not allowed in theory expressions: {word}")


def _op_word(op: ast.operator) -> str:
    return {
        ast.FloorDiv: "//",
        ast.Mod: "%",
        ast.MatMult: "@",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.BitXor: "^ (use ** for powers)",
        ast.LShift: "<<",
        ast.RShift: ">>",
    }.get(type(op), type(op).__name__)


def _is_call_of(node: ast.AST, names: tuple[str, ...]) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names


def _flat_arguments(node: ast.Call) -> int:
    """The number of arguments of a min()/max() call once sympy has flattened the nested
    calls of the same function into it: ``max(a, max(b, c))`` has 3."""
    name = node.func.id
    return sum(_flat_arguments(a) if _is_call_of(a, (name,)) else 1 for a in node.args)


def _check_extremum_work(ctx: ParseContext, body: ast.AST) -> None:
    calls = [n for n in ast.walk(body) if _is_call_of(n, ("min", "max"))]
    nested = {id(a) for n in calls for a in n.args if _is_call_of(a, (n.func.id,))}
    work = sum(_flat_arguments(n) ** 2 for n in calls if id(n) not in nested)
    if work > MAX_EXTREMUM_WORK:
        limit = math.isqrt(MAX_EXTREMUM_WORK)
        raise ctx.fail(
            None,
            f"min() and max() have too many arguments (at most {limit} in one call, nested "
            "calls of the same function included, and fewer when there are several calls)",
        )


def _check_constant(ctx: ParseContext, node: ast.Constant) -> None:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.fail(node, f"literal {type(value).__name__} values are not allowed; only numbers")
    if isinstance(value, int) and abs(value) > MAX_INT_LITERAL:
        raise ctx.fail(
            node,
            f"integer literals must be at most {MAX_INT_LITERAL:.0e}; write large numbers as 1e20",
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ctx.fail(node, "the literal is not a finite number")


def _check_written_ascii(ctx: ParseContext, node: ast.Name) -> None:
    # Python normalises identifiers (NFKC) before we see them: 'ｅｘｐ' arrives as 'exp'.
    # Compare with what was actually written, so the text and its meaning never differ.
    if ast.get_source_segment(ctx.text, node) != node.id:
        raise ctx.fail(
            node, "names must be written as ASCII identifiers (look-alike characters are refused)"
        )


def _check_name(ctx: ParseContext, node: ast.Name) -> None:
    _check_written_ascii(ctx, node)
    name = node.id
    if name.startswith("_"):
        raise ctx.fail(node, "names starting with '_' are not allowed")
    if len(name) > MAX_NAME_LENGTH:
        raise ctx.fail(node, f"names are limited to {MAX_NAME_LENGTH} characters")
    if not name.isascii():
        raise ctx.fail(node, "names must be ASCII identifiers")
    if name in FUNCTIONS:
        raise ctx.fail(node, f"{name!r} is a function; call it as {name}(...)")


def _check_call(ctx: ParseContext, node: ast.Call) -> None:
    func = node.func
    if not isinstance(func, ast.Name):
        raise ctx.fail(node, "only calls of plain function names are allowed")
    _check_written_ascii(ctx, func)
    if func.id not in FUNCTIONS:
        allowed = ", ".join(sorted(FUNCTIONS))
        raise ctx.fail(node, f"unknown function {func.id!r}; allowed functions: {allowed}")
    if node.keywords:
        raise ctx.fail(node, "keyword arguments are not allowed")
    lo, hi = FUNCTIONS[func.id]
    n = len(node.args)
    if n < lo or (hi is not None and n > hi):
        want = f"{lo}" if lo == hi else (f"{lo} to {hi}" if hi is not None else f"at least {lo}")
        raise ctx.fail(node, f"{func.id}() takes {want} arguments; got {n}")
    if func.id == "D":
        _check_derivative(ctx, node)
        return
    for i, arg in enumerate(node.args):
        _check(ctx, arg, comparison_ok=(func.id == "where" and i == 0))
    if func.id == "where" and not isinstance(node.args[0], ast.Compare):
        raise ctx.fail(
            node.args[0], "the first argument of where() must be a comparison such as x > 0"
        )


def _check_derivative(ctx: ParseContext, node: ast.Call) -> None:
    target, wrt, *order = node.args
    if isinstance(target, ast.Call) and isinstance(target.func, ast.Name) and target.func.id == "D":
        _check_call(ctx, target)
    elif isinstance(target, ast.Name):
        _check_name(ctx, target)
    else:
        raise ctx.fail(
            target,
            "D() differentiates a variable or another D(...); expand products by hand, e.g. D(u**2, x) -> 2*u*D(u, x)",
        )
    if not isinstance(wrt, ast.Name):
        raise ctx.fail(wrt, "the second argument of D() must be the name of an input variable")
    _check_name(ctx, wrt)
    if order:
        n = order[0]
        if not (
            isinstance(n, ast.Constant)
            and type(n.value) is int
            and 1 <= n.value <= MAX_DERIVATIVE_ORDER
        ):
            raise ctx.fail(
                n, f"the order of D() must be an integer literal from 1 to {MAX_DERIVATIVE_ORDER}"
            )
    total = 0
    part: ast.AST = node
    while _is_call_of(part, ("D",)):  # the inner D(...) have been checked already
        total += part.args[2].value if len(part.args) == 3 else 1
        part = part.args[0]
    if total > MAX_TOTAL_DERIVATIVE_ORDER:
        raise ctx.fail(
            node,
            f"derivatives are limited to order {MAX_TOTAL_DERIVATIVE_ORDER} in all (this one "
            f"is of order {total}); the cost of differentiating grows exponentially with it",
        )
