"""The ``recoup`` command: one Typer app with a sub-app per noun."""

from __future__ import annotations

import typer

from recoup import __version__
from recoup.adapters.log_redaction import install_log_redaction
from recoup.entrypoints.cli import ingest_cmds
from recoup.entrypoints.cli.admin_cmds import (
    audit_app,
    config_app,
    db_app,
    events_app,
    quarantine_app,
    serve_command,
)
from recoup.entrypoints.cli.assist_cmds import assist_app
from recoup.entrypoints.cli.case_cmds import cases_app
from recoup.entrypoints.cli.common import guarded
from recoup.entrypoints.cli.liability_cmds import liability_app
from recoup.entrypoints.cli.notify_cmds import metrics_app, notify_app
from recoup.entrypoints.cli.policy_cmds import policy_app
from recoup.entrypoints.cli.reconcile_cmds import reconcile_app
from recoup.entrypoints.cli.recovery_cmds import recover_app
from recoup.entrypoints.cli.retention_cmds import retention_app
from recoup.entrypoints.cli.scenario_cmds import scenarios_app
from recoup.entrypoints.cli.sync_cmds import sync_app
from recoup.entrypoints.cli.timer_cmds import timers_app, worker_command
from recoup.entrypoints.cli.users_cmds import keys_app, users_app
from recoup.entrypoints.cli.writeback_cmds import ledger_app, writeback_app


def _version(value: bool) -> None:
    if value:
        typer.echo(f"recoup {__version__}")
        raise typer.Exit()


def create_cli() -> typer.Typer:
    app = typer.Typer(
        help="Recoup: detect, route and recover payment, bank, invoice and order exceptions.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
    ) -> None:
        """Settings come from RECOUP_* environment variables; see `recoup config show`."""

    ingest_cmds.register(app)
    app.command("serve")(guarded(serve_command))
    app.add_typer(cases_app, name="cases")
    app.add_typer(quarantine_app, name="quarantine")
    app.add_typer(audit_app, name="audit")
    app.add_typer(db_app, name="db")
    app.add_typer(config_app, name="config")
    app.add_typer(events_app, name="events")
    app.add_typer(sync_app, name="sync")
    app.add_typer(scenarios_app, name="scenarios")
    app.add_typer(timers_app, name="timers")
    app.add_typer(policy_app, name="policy")
    app.command("worker")(worker_command)
    app.add_typer(recover_app, name="recover")
    app.add_typer(liability_app, name="liability")
    app.add_typer(reconcile_app, name="reconcile")
    app.add_typer(writeback_app, name="writeback")
    app.add_typer(ledger_app, name="ledger")
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")
    app.add_typer(notify_app, name="notify")
    app.add_typer(metrics_app, name="metrics")
    app.add_typer(assist_app, name="assist")
    app.add_typer(retention_app, name="retention")
    return app


def run() -> None:
    install_log_redaction()
    create_cli()()
