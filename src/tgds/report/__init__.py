"""The HTML report of a run folder (``tgds report RUN``).

:func:`render_report` writes ``report.html`` into the run folder: one self-contained
page (inline CSS, no scripts, figures as PNG data URIs) with the run's status, the
theory, the data card, the model comparison and its ranking, learning curves, parity
and residual plots, constraint violations and, for monotonic constraints within groups
(e.g. density rising with depth on each date), profile plots. :func:`figures` gives the
same figures as matplotlib figures. The run folder is described in ``docs/runs.md``.
"""

from tgds.report._html import render_report, report_html
from tgds.report._plots import RunData, figures, load_run

__all__ = ["RunData", "figures", "load_run", "render_report", "report_html"]
