"""``recoup notify``."""

from __future__ import annotations

import typer

notify_app = typer.Typer(help="(being built)", no_args_is_help=True)
