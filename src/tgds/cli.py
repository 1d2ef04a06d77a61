"""The ``tgds`` command line.

Exit codes: ``0`` success; ``1`` the command ran but found problems (e.g. ``tgds check
--strict`` found issues in the data); ``2`` bad input (a malformed theory, a missing
or unreadable file, a wrong option).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tgds import __version__
from tgds.exceptions import TgdsError

app = typer.Typer(
    name="tgds",
    help="Theory-guided data science: check data against a theory, train and audit models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_BAD_INPUT = 0, 1, 2


def _fail(err: Exception) -> typer.Exit:
    typer.echo(f"error: {err}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tgds {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Theory-guided data science."""


@app.command()
def check(
    theory: Annotated[Path, typer.Argument(help="Theory file (TOML).")],
    data: Annotated[
        Path, typer.Argument(help="Data file (CSV or Parquet); column names are variable names.")
    ],
    strict: Annotated[bool, typer.Option(help="Exit with code 1 if any issue is found.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the issues as JSON records.")
    ] = False,
) -> None:
    """Check a data file against a theory: columns, types, missing values, physical bounds."""
    from tgds.datasets import read_table
    from tgds.theory import Theory

    try:
        report = Theory.from_toml(theory).check_data(read_table(data))
    except TgdsError as err:
        raise _fail(err) from None
    if as_json:
        typer.echo(json.dumps(report.to_frame().to_dict(orient="records"), indent=2))
    else:
        typer.echo(str(report))
    if strict and not report.ok:
        raise typer.Exit(EXIT_PROBLEMS)


@app.command("theory")
def show_theory(theory: Annotated[Path, typer.Argument(help="Theory file (TOML).")]) -> None:
    """Validate a theory file and print its summary."""
    from tgds.theory import Theory

    try:
        typer.echo(str(Theory.from_toml(theory)))
    except TgdsError as err:
        raise _fail(err) from None


@app.command()
def demo() -> None:
    """Check the bundled predator-prey records against the bundled Lotka-Volterra theory."""
    from tgds.datasets import bundled_path, load_lotka_volterra, load_theory

    theory = load_theory("lotka_volterra")
    typer.echo(f"Theory file: {bundled_path('lotka_volterra.toml')}\n")
    typer.echo(str(theory))
    typer.echo(
        f"\nData file: {bundled_path('lotka_volterra.csv')} (simulated by tgds.datasets.make_lotka_volterra)\n"
    )
    typer.echo(str(theory.check_data(load_lotka_volterra())))


def main() -> None:
    """Entry point of the ``tgds`` script."""
    app()
