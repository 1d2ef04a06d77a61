"""Text and HTML views of a theory (``str(theory)`` and Jupyter's ``_repr_html_``)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from tgds.theory._variables import format_number

if TYPE_CHECKING:
    from tgds.theory._theory import Theory

__all__ = ["theory_text", "theory_html"]


def _bounds(bounds: tuple[float, float] | None) -> str:
    return "" if bounds is None else f"[{format_number(bounds[0])}, {format_number(bounds[1])}]"


def _sections(theory: Theory) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for each non-empty part of the theory."""
    out = [
        (
            "Variables",
            ["name", "role", "unit", "bounds", "description"],
            [[v.name, v.role, v.unit, _bounds(v.bounds), v.description] for v in theory.variables],
        )
    ]
    if theory.parameters:
        out.append(
            (
                "Parameters",
                ["name", "unit", "value", "bounds", "prior"],
                [
                    [
                        p.name,
                        p.unit,
                        "" if p.value is None else format_number(p.value),
                        _bounds(p.bounds),
                        "" if p.prior is None else repr(p.prior),
                    ]
                    for p in theory.parameters
                ],
            )
        )
    if theory.relations:
        out.append(
            (
                "Relations",
                ["name", "expression", "unit"],
                [
                    [
                        r.name,
                        r.expression.text,
                        str(theory.unit_of(r.name).unit) + (" (empirical)" if r.empirical else ""),
                    ]
                    for r in theory.relations
                ],
            )
        )
    if theory.constraints:
        out.append(
            (
                "Constraints",
                ["kind", "name", "statement"],
                [[c.kind, c.name or "", c.describe()] for c in theory.constraints],
            )
        )
    if theory.physics_model is not None:
        pm = theory.physics_model
        rows = [[k, e.text] for k, e in pm.expressions.items()] or [
            [", ".join(pm.predicted), "(Python function)"]
        ]
        title = f"Physics model ({'ODE in ' + pm.time if pm.time else pm.kind})"
        out.append((title, ["target", "expression"], rows))
    return out


def theory_text(theory: Theory) -> str:
    """A plain-text summary: one aligned table per part."""
    lines = [f"Theory {theory.name!r}" if theory.name else "Theory"]
    if theory.description:
        lines.append(theory.description)
    for title, header, rows in _sections(theory):
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
        lines.append(f"\n{title}:")
        lines.append(
            "  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
        )
        lines.extend(
            "  " + "  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)).rstrip()
            for r in rows
        )
    return "\n".join(lines)


def theory_html(theory: Theory) -> str:
    """An HTML summary for notebooks and reports (escaped, no scripts)."""
    parts = [f"<div class='tgds-theory'><h3>Theory {html.escape(theory.name)}</h3>"]
    if theory.description:
        parts.append(f"<p>{html.escape(theory.description)}</p>")
    for title, header, rows in _sections(theory):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in r) + "</tr>" for r in rows
        )
        parts.append(
            f"<h4>{html.escape(title)}</h4><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
    parts.append("</div>")
    return "".join(parts)
