"""``recoup users``."""

from __future__ import annotations

import typer

users_app = typer.Typer(help="(being built)", no_args_is_help=True)
keys_app = typer.Typer(help="(being built)", no_args_is_help=True)
