"""`recoup quarantine`, `audit`, `db`, `config` and `events`."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from rich.table import Table

from recoup.adapters.connectors.webhooks.providers import webhook_reparsers
from recoup.domain.errors import InvalidInputError
from recoup.domain.ids import short_id
from recoup.domain.ingestion.event import event_json_schema
from recoup.domain.ingestion.types import EVENT_TYPES
from recoup.entrypoints.cli.common import (
    EXIT_INTEGRITY,
    console,
    fail,
    get_app,
    guarded,
    print_json,
)
from recoup.services.audit import verify_audit
from recoup.services.quarantine import (
    discard_quarantined,
    list_quarantine,
    replay_quarantined,
)
from recoup.settings import load_settings, redacted

quarantine_app = typer.Typer(help="Records that could not be ingested.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Settings.", no_args_is_help=True)
events_app = typer.Typer(help="The canonical event format.", no_args_is_help=True)


@quarantine_app.command("list")
@guarded
def quarantine_list(
    status: Annotated[str, typer.Option(help="open, replayed, discarded or all")] = "open",
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List quarantined records with where they came from and why they were refused."""
    items = list_quarantine(reader=get_app().reader, status=None if status == "all" else status,
                            limit=limit)  # fmt: skip
    if as_json:
        print_json(items)
        return
    table = Table(title=f"{len(items)} quarantined records ({status})")
    for column in ("id", "where", "field", "reason", "seen", "status"):
        table.add_column(column, overflow="fold")
    for item in items:
        where = f"{item.label or '-'}:{item.line}" if item.line else (item.label or "-")
        table.add_row(short_id(item.id), where, item.field or "", item.reason,
                      str(item.seen_count), item.status)  # fmt: skip
    console.print(table)


@quarantine_app.command("replay")
@guarded
def quarantine_replay(
    ids: Annotated[list[str] | None, typer.Argument(help="ids (or starts of ids)")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="replay every open record")] = False,
) -> None:
    """Parse quarantined records again and ingest the ones that now pass."""
    if not ids and not replay_all:
        raise InvalidInputError("give record ids, or --all")
    app = get_app()
    report = replay_quarantined(None if replay_all else ids, uow=app.uow, clock=app.clock,
                                detectors=app.detectors, policy=app.policy,
                                reparsers=webhook_reparsers())  # fmt: skip
    console.print(
        f"replayed {len(report.replayed)}, still refused {len(report.still_bad)}; "
        f"findings {report.findings}, cases opened {report.cases_opened}"
    )
    for item, rejection in report.still_bad[:20]:
        console.print(f"  {short_id(item.id)} {rejection}", soft_wrap=True)


@quarantine_app.command("discard")
@guarded
def quarantine_discard(
    item_id: Annotated[str, typer.Argument(help="record id (or the start of it)")],
    reason: Annotated[str, typer.Option(help="why this record is given up (audited)")],
    actor: Annotated[str, typer.Option(help="who is discarding it")] = "cli",
) -> None:
    """Give up on a quarantined record. It stays stored, marked discarded, with your reason."""
    if not reason.strip():
        raise InvalidInputError("a reason is required", location=None)
    app = get_app()
    item = discard_quarantined(item_id, reason=reason, actor=f"user:{actor}", uow=app.uow,
                               clock=app.clock)  # fmt: skip
    console.print(f"discarded {short_id(item.id)}")


@audit_app.command("verify")
@guarded
def audit_verify() -> None:
    """Recompute the hash chain; name the first record that was altered or removed."""
    result = verify_audit(reader=get_app().reader)
    if result.problem is not None:
        fail(f"audit trail broken at {result.problem}", EXIT_INTEGRITY)
    console.print(f"audit trail intact: {result.records:,} records verified")


@db_app.command("upgrade")
@guarded
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    app = get_app(schema=False)
    before, after = app.upgrade_schema()
    if before == after:
        console.print(f"schema already at {after}")
    else:
        console.print(f"schema upgraded from {before or 'empty'} to {after}")


@config_app.command("show")
@guarded
def config_show() -> None:
    """Print the effective settings, secrets redacted."""
    print_json(redacted(load_settings()))


def serve_command(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="server processes, each with its own group commit")
    ] = None,
) -> None:
    """Run the HTTP server: the pages, the REST API (/api/v1, OpenAPI at /api/openapi.json),
    POST /hooks/{source} for the webhook sources in RECOUP_WEBHOOKS__SOURCES with group commit,
    /metrics for Prometheus, and (unless RECOUP_SERVER__WORKER=false) the worker."""
    app = get_app()  # applies pending migrations once, before any worker starts
    settings = app.settings.server
    sources = ", ".join(app.settings.webhooks.sources) or "none configured"
    console.print(f"webhook sources: {sources}")
    where = f"http://{host or settings.host}:{port or settings.port}"
    worker = "in process" if settings.worker else "off (run `recoup worker`)"
    console.print(f"pages at {where}/  API at {where}/api/docs  worker {worker}")
    uvicorn.run(
        "recoup.entrypoints.api.app:create_default_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@events_app.command("types")
def events_types() -> None:
    """List the canonical event types."""
    for name, meaning in EVENT_TYPES.items():
        console.print(f"{name:32} {meaning}")
    console.print(f"{'custom.*':32} your own types, stored and linked but not detected on")


@events_app.command("schema")
def events_schema() -> None:
    """Print the JSON Schema of a canonical event."""
    print_json(event_json_schema())
