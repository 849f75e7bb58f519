"""``recoup assist``."""

from __future__ import annotations

import typer

assist_app = typer.Typer(help="(being built)", no_args_is_help=True)
