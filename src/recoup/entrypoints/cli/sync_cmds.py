"""`recoup sync stripe`: pull events through Stripe's Events API, a fallback for missed
webhooks (an endpoint that was down, a secret rotated too early).

The Stripe secret key is read from the environment variable named by ``--api-key-env``
(default ``STRIPE_API_KEY``), not from a ``RECOUP_`` setting: settings refuse unknown
``RECOUP_`` variables. The key is never printed.

Tests replace :func:`make_stripe_client` to talk to an ``httpx.MockTransport`` and to sleep
without sleeping.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from recoup.adapters.connectors.webhooks import stripe
from recoup.domain.errors import ConfigurationError, InvalidInputError, Location
from recoup.entrypoints.cli.common import console, get_app, guarded
from recoup.services.sync import SyncReport, sync_stripe_events

if TYPE_CHECKING:
    from recoup.adapters.connectors.sync.stripe_events import StripeEventsClient

DEFAULT_KEY_ENV = "STRIPE_API_KEY"

sync_app = typer.Typer(
    help="Pull events from a source's API: a fallback for missed webhooks.", no_args_is_help=True
)


def make_stripe_client(api_key: str) -> StripeEventsClient:
    """The Stripe client the command uses (the test seam)."""
    try:  # imported here: without httpx every other command still works
        from recoup.adapters.connectors.sync.stripe_events import StripeEventsClient
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"`recoup sync` needs the {exc.name} package: pip install {exc.name}"
        ) from None
    return StripeEventsClient(api_key)


def read_api_key(name: str) -> str:
    if name.upper().startswith("RECOUP_"):
        raise ConfigurationError(
            f"{name}: settings refuse unknown RECOUP_ variables; keep the key in a variable "
            f"without that prefix, such as {DEFAULT_KEY_ENV}"
        )
    key = os.environ.get(name, "").strip()
    if not key:
        raise ConfigurationError(
            f"no Stripe API key: set the environment variable {name} "
            "(or name another with --api-key-env)"
        )
    return key


def parse_when(value: str, option: str) -> datetime:
    """``2026-09-30`` (midnight) or an ISO datetime; UTC unless it carries an offset."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(
            f"{value!r} is not a date (2026-09-30) or datetime (2026-09-30T14:00:00Z)",
            location=Location(field=option),
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@sync_app.command("stripe")
@guarded
def sync_stripe(
    since: Annotated[
        str | None,
        typer.Option(
            help="start of the window: 2026-09-30 or 2026-09-30T14:00:00Z (UTC unless an "
            "offset is given). Needed for the first sync; later syncs start at the stored "
            "cursor minus 5 minutes, after finishing an interrupted one"
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="end of the window, exclusive (default: now)")
    ] = None,
    source: Annotated[
        str, typer.Option(help="source name of the events; the cursor is sync:stripe:<source>")
    ] = stripe.DEFAULT_SOURCE,
    limit_pages: Annotated[
        int | None,
        typer.Option(min=1, help="stop after N pages of up to 100 events; the next run goes on"),
    ] = None,
    api_key_env: Annotated[
        str,
        typer.Option(
            help="environment variable holding the Stripe secret key (sk_...) or restricted "
            "key (rk_...) with read access to events"
        ),
    ] = DEFAULT_KEY_ENV,
) -> None:
    """Ingest a Stripe account's events from the Events API (the last 30 days at most).

    Each page of events is committed before the cursor moves past it; events already received
    by webhook or an earlier sync count as duplicates, never twice."""
    key = read_api_key(api_key_env)
    start = None if since is None else parse_when(since, "--since")
    end = None if until is None else parse_when(until, "--until")
    app = get_app()
    with make_stripe_client(key) as client, _progress() as progress:
        task = progress.add_task(f"sync stripe ({source})", total=None, pages=0, events=0)

        def on_page(report: SyncReport) -> None:
            progress.update(task, pages=report.pages, events=report.events_fetched)

        report = sync_stripe_events(
            client=client,
            uow=app.uow,
            clock=app.clock,
            detectors=app.detectors,
            policy=app.policy,
            mapper=stripe.events_from_payload,
            source=source,
            since=start,
            until=end,
            limit_pages=limit_pages,
            tracked_types=stripe.TRACKED_TYPES,
            on_page=on_page,
        )
    print_sync_report(report)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[pages]:,} pages, {task.fields[events]:,} events"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def print_sync_report(report: SyncReport) -> None:
    skipped = f" ({report.skipped:,} of types Recoup does not track)" if report.skipped else ""
    lines = [
        f"{report.name}: {report.pages:,} pages, {report.events_fetched:,} Stripe events "
        f"read{skipped}",
        f"accepted {report.accepted:,} ({report.new_events:,} new, {report.duplicates:,} "
        f"duplicate) + quarantined {report.quarantined:,}; findings {report.ingest.findings:,}, "
        f"cases opened {report.ingest.cases_opened:,}",
        f"cursor {report.cursor_after} (was {report.cursor_before})",
    ]
    lines += [f"  quarantined {rejection}" for rejection in report.ingest.first_rejections[:10]]
    lines += [f"warning: {warning}" for warning in report.warnings]
    if not report.is_complete:
        lines.append("stopped at --limit-pages; run `recoup sync stripe` again to go on")
    for line in lines:
        console.print(line, soft_wrap=True, markup=False, highlight=False)
