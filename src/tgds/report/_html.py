"""The HTML report of a run folder: one self-contained file, written atomically.

The page needs nothing from the network: the CSS is inline, there is no script, and
every figure is a PNG embedded as a ``data:image/png;base64,...`` URI. Every string
read from the run folder goes through :func:`html.escape` (the theory through its own
escaping ``_repr_html_``). The text of ``experiment.toml`` is shown only when it is a
file of the run folder, not a symbolic link: a folder from elsewhere could otherwise have
the report quote any file of the reader's that parses as TOML (a token file).
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from tgds.report._plots import (
    DPI,
    Panel,
    RunData,
    load_run,
    panels,
    printable,
    violation_table,
)
from tgds.utils import atomic_write_text

__all__ = ["render_report", "report_html"]

_SECTIONS = (
    ("run", "Run"),
    ("theory", "Theory"),
    ("data", "Data card"),
    ("comparison", "Model comparison"),
    ("learning", "Learning curves"),
    ("parity", "Parity plots"),
    ("residuals", "Residuals"),
    ("violations", "Constraint violations"),
    ("profiles", "Profiles"),
    ("experiment", "Experiment"),
)

_MISSING = {
    "learning": "No neural model in this run (no history.json): no learning curves.",
    "parity": "No test predictions (predictions.csv) in this run: no parity plots.",
    "residuals": "No key columns (time, group or wrt variables) in the predictions: "
    "no residual plots.",
    "violations": "No audit records in metrics.json: no constraint violations to show.",
    "profiles": "The theory has no monotonic constraint within groups (Monotonic with "
    "'within') whose columns are in the predictions: no profile plots.",
}

_COLUMNS = (
    ("rmse", "RMSE", "{:.4g}"),
    ("mae", "MAE", "{:.4g}"),
    ("r2", "R²", "{:.4f}"),
    ("consistency", "consistency", "{:.4f}"),
    ("violation_rate", "violations", "{:.2%}"),
    ("complexity", "complexity", "{:.4g}"),
    ("fit_s", "fit (s)", "{:.3g}"),
    ("rank_accuracy", "rank acc.", "{:g}"),
    ("rank_consistency", "rank cons.", "{:g}"),
    ("rank_simplicity", "rank simpl.", "{:g}"),
    ("rank", "rank", "{:.3g}"),
)


def esc(value: object) -> str:
    """HTML-escape any value (quotes included), lone surrogates written as ``\\ud800``."""
    return html.escape(printable(value), quote=True)


def fmt(value: Any, spec: str = "{:.4g}") -> str:
    """A number for a table cell; ``–`` when missing or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–" if value is None else esc(value)
    return "–" if math.isnan(number) else esc(spec.format(number))


def png_data_uri(fig: Figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI (deterministic bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# -- sections --------------------------------------------------------------------------------
def _kv_table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th scope='row'>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows if v != ""
    )
    return f"<table class='kv'>{body}</table>"


def _created(run: RunData) -> str:
    match = re.match(r"^(\d{8}-\d{6})-", run.run_id)
    if match:
        with contextlib.suppress(ValueError):  # a folder named 99999999-999999-...
            stamp = datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
            return stamp.strftime("%Y-%m-%d %H:%M:%S")
    return str(run.status.get("started") or "")


def _run_section(run: RunData) -> str:
    status = run.status
    state = str(status.get("state") or "unknown")
    badge = f"<span class='state state-{esc(re.sub(r'[^a-z]', '', state.lower()))}'>"
    badge += f"{esc(state)}</span>"
    rows = [
        ("run id", f"<code>{esc(run.run_id)}</code>"),
        ("experiment", esc(run.experiment.get("name", ""))),
        ("created", esc(_created(run))),
        ("status", badge),
        ("started", esc(status.get("started") or "")),
        ("finished", esc(status.get("finished") or "")),
        ("host", esc(status.get("host") or "")),
        ("progress", esc(status.get("progress") or "")),
        ("models", esc(", ".join(run.models))),
    ]
    if status.get("error"):
        rows.append(("error", f"<pre class='error'>{esc(status['error'])}</pre>"))
    return _kv_table(rows)


def _theory_section(run: RunData) -> str:
    if run.theory is None:
        return _note("theory.toml is missing or could not be read.")
    return run.theory._repr_html_()


def _data_section(run: RunData) -> str:
    card = run.data_card
    if not isinstance(card, dict):
        return _note("data_card.json is missing.")
    target = card.get("target")
    target = ", ".join(map(str, target)) if isinstance(target, list) else target
    intro = _kv_table(
        [
            ("source", esc(card.get("source") or "")),
            ("rows", fmt(card.get("n_rows"), "{:.0f}")),
            ("target", esc(target or "")),
        ]
    )
    return (
        intro + _card_table(_records(card.get("columns"))) + _issues(_records(card.get("issues")))
    )


def _records(value: Any) -> list[dict[str, Any]]:
    """The JSON objects of a list read from the run folder (anything else is left out)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _bounds(bounds: Any) -> str:
    if not isinstance(bounds, list | tuple) or len(bounds) != 2:
        return ""
    return f"[{fmt(bounds[0], '{:g}')}, {fmt(bounds[1], '{:g}')}]"


_CARD_NUMBERS = (
    ("count", "{:.0f}"),
    ("missing", "{:.0f}"),
    ("minimum", "{:.4g}"),
    ("maximum", "{:.4g}"),
)


def _card_table(columns: list[dict[str, Any]]) -> str:
    head = ["variable", "role", "unit", "count", "missing", "min", "max", "bounds"]
    rows = []
    for c in columns:
        cells = [esc(c.get("name", "")), esc(c.get("role", "")), esc(c.get("unit", ""))]
        nums = [fmt(c.get(k), s) for k, s in _CARD_NUMBERS]
        cells += nums + [_bounds(c.get("bounds"))]
        rows.append(cells)
    return _table(head, rows, numeric=range(3, 7))


def _issues(issues: list[dict[str, Any]]) -> str:
    if not issues:
        return "<p class='ok'>No data issues found.</p>"
    items = "".join(
        f"<li><span class='sev sev-{esc(i.get('severity', ''))}'>{esc(i.get('severity', ''))}"
        f"</span> <code>{esc(i.get('column') or 'data')}</code>: {esc(i.get('message', ''))}</li>"
        for i in issues
    )
    return f"<h3>Issues ({len(issues)})</h3><ul class='issues'>{items}</ul>"


def _table(
    head: list[str],
    rows: list[list[str]],
    numeric: Any = (),
    row_class: list[str] | None = None,
) -> str:
    """A table from already-escaped cells."""
    numeric = set(numeric)
    th = "".join(f"<th{' class=num' if k in numeric else ''}>{h}</th>" for k, h in enumerate(head))
    body = []
    for r, cells in enumerate(rows):
        cls = f" class='{row_class[r]}'" if row_class and row_class[r] else ""
        tds = "".join(
            f"<td{' class=num' if k in numeric else ''}>{c}</td>" for k, c in enumerate(cells)
        )
        body.append(f"<tr{cls}>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def best_model(summary: pd.DataFrame) -> str:
    """The model ranked first overall (lowest mean rank, then lowest RMSE)."""
    keys = [k for k in ("rank", "rmse") if k in summary.columns]
    ordered = summary.sort_values(keys, kind="stable") if keys else summary
    return str(ordered.index[0])


def _comparison_section(run: RunData) -> str:
    summary = run.summary
    if summary is None or summary.empty:
        return _note("summary.csv is missing (the run has not completed): no comparison.")
    best = best_model(summary)
    cols = [c for c in _COLUMNS if c[0] in summary.columns]
    head = ["model"] + [esc(label) for _, label, _ in cols]
    rows, classes = [], []
    for model, values in summary.iterrows():
        mark = " <span class='badge'>best</span>" if model == best else ""
        colour = run.colours.get(model, "#999")  # in CSS: a hex colour, nothing else
        colour = colour if re.fullmatch(r"#[0-9A-Fa-f]{3,8}", str(colour)) else "#999"
        swatch = f"<span class='swatch' style='background:{colour}'></span>"
        rows.append([swatch + esc(model) + mark] + [fmt(values[c], s) for c, _, s in cols])
        classes.append("best" if model == best else "")
    table = _table(head, rows, numeric=range(1, len(head)), row_class=classes)
    return table + _ranking_text(summary, best)


def _ranking_text(summary: pd.DataFrame, best: str) -> str:
    text = (
        "<p>Each model is ranked on three criteria (Karpatne et al., 2017: performance "
        "∝ accuracy + simplicity + consistency): <b>accuracy</b>, the test RMSE (lower is "
        "better); <b>consistency</b>, the share of the theory's checks that the test "
        "predictions pass (higher is better); and <b>simplicity</b>, the complexity count "
        "(trainable weights, tree leaves or fitted parameters; lower is better). The overall "
        "rank is the mean of the three ranks (ties share the better rank; equal means are "
        "ordered by RMSE). Values are means over the folds; <i>violations</i> is the share of "
        "all checks violated, <i>fit</i> the training time in seconds.</p>"
    )
    ranks = ["rank_accuracy", "rank_consistency", "rank_simplicity"]
    if not set(ranks) <= set(summary.columns):
        return text
    row = summary.loc[best]
    text += (
        f"<p><b>{esc(best)}</b> ranks first overall (accuracy rank {fmt(row[ranks[0]], '{:g}')}, "
        f"consistency rank {fmt(row[ranks[1]], '{:g}')}, simplicity rank "
        f"{fmt(row[ranks[2]], '{:g}')}).</p>"
    )
    firsts = [
        ("most accurate", "rmse", True, "RMSE {:.4g}"),
        ("most consistent", "consistency", False, "consistency {:.4f}"),
        ("simplest", "complexity", True, "complexity {:.4g}"),
    ]
    parts = []
    for label, col, low, spec in firsts:
        if col not in summary.columns:  # a summary.csv written by hand or by another version
            continue
        values = pd.to_numeric(summary[col], errors="coerce")
        if values.notna().any():
            who = values.idxmin() if low else values.idxmax()
            parts.append(f"{label}: <b>{esc(who)}</b> ({fmt(values[who], spec)})")
    sentence = "; ".join(parts)
    return text + (f"<p>{sentence[:1].upper()}{sentence[1:]}.</p>" if parts else "")


def _figure(panel: Panel) -> str:
    w, h = (round(v * DPI) for v in panel.figure.get_size_inches())
    alt = esc(panel.name.replace(":", " "))
    return (
        f"<figure id='fig-{esc(re.sub(r'[^A-Za-z0-9_-]', '-', panel.name))}'>"
        f"<img src='{png_data_uri(panel.figure)}' alt='{alt}' width='{w}' height='{h}'>"
        f"<figcaption>{esc(panel.caption)}</figcaption></figure>"
    )


def _violation_rates(run: RunData) -> str:
    table = violation_table(run)
    if table.empty:
        return ""
    head = ["model"] + [esc(c) for c in table.columns]
    rows = [[esc(m)] + [fmt(v, "{:.2%}") for v in table.loc[m].to_numpy()] for m in table.index]
    caption = "<p class='small'>Violation rate per constraint (mean over folds).</p>"
    return caption + _table(head, rows, numeric=range(1, len(head)))


def _experiment_section(run: RunData) -> str:
    path = run.path / "experiment.toml"
    if path.is_symlink():
        return _note("experiment.toml is a symbolic link: its text is not shown.")
    if not path.is_file():
        return _note("experiment.toml is missing.")
    text = path.read_text(encoding="utf-8", errors="replace")
    return (
        "<details><summary>experiment.toml (as resolved by the runner)</summary>"
        f"<pre>{esc(text)}</pre></details>"
    )


def _note(text: str) -> str:
    return f"<p class='note'>{esc(text)}</p>"


# -- page ------------------------------------------------------------------------------------
def _sections(run: RunData, figs: list[Panel]) -> dict[str, str]:
    body = {
        "run": _run_section(run),
        "theory": _theory_section(run),
        "data": _data_section(run),
        "comparison": _comparison_section(run),
        "experiment": _experiment_section(run),
    }
    for key in _MISSING:
        shown = [_figure(p) for p in figs if p.section == key]
        body[key] = "".join(shown) if shown else _note(_MISSING[key])
    body["violations"] += _violation_rates(run)
    body["run"] += "".join(_note(text) for text in run.skipped)
    return body


def report_html(run_dir: str | Path | RunData, *, rendered: datetime | None = None) -> str:
    """The report of a run folder as one self-contained HTML page.

    Parameters
    ----------
    run_dir : str, Path or RunData
        The run folder (see ``docs/runs.md``) or a run read with
        :func:`tgds.report.load_run`.
    rendered : datetime, optional
        The time shown as the rendering time (default: now, UTC).

    Returns
    -------
    str
    """
    run = run_dir if isinstance(run_dir, RunData) else load_run(run_dir)
    rendered = rendered or datetime.now(UTC)
    body = _sections(run, panels(run))
    nav = "".join(f"<a href='#{key}'>{esc(title)}</a>" for key, title in _SECTIONS)
    parts = [
        f"<section id='{key}'><h2>{esc(title)}</h2>{body[key]}</section>"
        for key, title in _SECTIONS
    ]
    name = run.experiment.get("name") or run.run_id
    return _PAGE.format(
        title=esc(f"tgds report: {name}"),
        heading=esc(name),
        run_id=esc(run.run_id),
        nav=nav,
        sections="\n".join(parts),
        rendered=esc(rendered.strftime("%Y-%m-%d %H:%M:%S %Z").strip()),
        css=_CSS,
    )


def render_report(run_dir: str | Path) -> Path:
    """Write ``report.html`` into the run folder (atomically) and return its path.

    Parameters
    ----------
    run_dir : str or Path
        The run folder (see ``docs/runs.md``).

    Returns
    -------
    Path
        ``run_dir / "report.html"``.
    """
    run = load_run(run_dir)
    return atomic_write_text(run.path / "report.html", report_html(run))


_CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
header { background: #123a5e; color: #fff; padding: 18px 0 10px; }
header .wrap > p { margin: 2px 0 8px; color: #cfe0f0; }
header h1 { margin: 0; font-size: 1.6em; font-weight: 600; }
nav { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 6px; }
nav a { color: #e8f1fa; text-decoration: none; font-size: 0.9em; }
nav a:hover { text-decoration: underline; }
.wrap { max-width: 1000px; margin: 0 auto; padding: 0 24px; }
main section { padding: 6px 0 14px; border-bottom: 1px solid var(--line); }
h2 { font-size: 1.3em; margin: 18px 0 8px; color: #123a5e; }
h3 { font-size: 1.08em; margin: 14px 0 6px; }
h4 { font-size: 1em; margin: 12px 0 4px; color: var(--muted); }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 0.86em; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; }
tbody tr:nth-child(even) { background: #fbfcfd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.kv th { background: var(--soft); font-weight: 600; width: 9em; }
tr.best td { background: #e6f4ea; font-weight: 600; }
.badge { background: #1a7f37; color: #fff; border-radius: 8px; padding: 0 6px;
  font-size: 0.78em; margin-left: 4px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 6px; vertical-align: baseline; }
.state { border-radius: 8px; padding: 1px 8px; color: #fff; background: #6e7781; }
.state-complete { background: #1a7f37; } .state-failed { background: #cf222e; }
.state-running { background: #9a6700; }
.note { color: var(--muted); font-style: italic; }
.ok { color: #1a7f37; }
.sev { border-radius: 6px; padding: 0 5px; font-size: 0.8em; color: #fff; background: #9a6700; }
.sev-error { background: #cf222e; }
.small { font-size: 0.85em; color: var(--muted); margin-bottom: 0; }
figure { margin: 10px 0 16px; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid var(--line); }
figcaption { font-size: 0.85em; color: var(--muted); margin-top: 4px; max-width: 825px; }
pre { background: var(--soft); padding: 8px 10px; overflow-x: auto; font-size: 0.85em; }
pre.error { color: #cf222e; margin: 0; }
details summary { cursor: pointer; color: var(--accent); }
footer { color: var(--muted); font-size: 0.8em; padding: 14px 0 24px; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><div class="wrap">
<h1>{heading}</h1>
<p>tgds run report · <code>{run_id}</code></p>
<nav>{nav}</nav>
</div></header>
<main class="wrap">
{sections}
</main>
<footer class="wrap">Rendered by tgds <span class="rendered">{rendered}</span>
from the files of the run folder; self-contained (no network access needed).</footer>
</body>
</html>
"""
