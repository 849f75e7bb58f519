"""``recoup notify subscribe|list|disable|deliveries|run|redeliver`` and ``recoup metrics
show|rebuild``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from recoup.adapters.notify.http import http_delivering
from recoup.bootstrap import App
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.notify import Delivery, Subscription
from recoup.entrypoints.cli.common import console, get_app, guarded, money, print_json
from recoup.services import metrics as metrics_service
from recoup.services import notify as notify_service
from recoup.services.notify import Delivering

notify_app = typer.Typer(
    help="Outbound webhooks for case events: subscriptions and deliveries.", no_args_is_help=True
)
metrics_app = typer.Typer(help="The product's metrics, from the summaries.", no_args_is_help=True)

Actor = Annotated[str, typer.Option(help="who is doing it")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


def delivering_for(app: App) -> Delivering:
    s = app.settings.notify
    return http_delivering(max_attempts=s.max_attempts, timeout_seconds=s.timeout_seconds,
                           backoff_base_seconds=s.backoff_base_seconds,
                           backoff_cap_seconds=s.backoff_cap_seconds, chunk=s.batch)  # fmt: skip


def _subscription_json(sub: Subscription) -> dict[str, Any]:
    out = sub.public()
    for name in ("created_at", "disabled_at"):
        out[name] = None if out[name] is None else out[name].isoformat()
    return out


def _delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id, "subscription_id": d.subscription_id, "case_id": d.case_id,
        "event": d.event.value, "case_version": d.case_version, "status": d.status.value,
        "attempts": d.attempts, "created_at": d.created_at.isoformat(),
        "next_at": None if d.next_at is None else d.next_at.isoformat(),
        "delivered_at": None if d.delivered_at is None else d.delivered_at.isoformat(),
        "last_status_code": d.last_status_code, "last_error": d.last_error,
        "history": [
            {"number": a.number, "at": a.at.isoformat(), "outcome": a.outcome.value,
             "status_code": a.status_code, "error": a.error, "duration_ms": a.duration_ms}
            for a in d.history
        ],
    }  # fmt: skip


@notify_app.command("subscribe")
@guarded
def subscribe_command(
    url: Annotated[str, typer.Argument(help="where to POST case events (http or https)")],
    events: Annotated[
        str, typer.Option(help="comma-separated: opened, escalated, resolved, reopened")
    ] = "opened,escalated,resolved,reopened",
    team: Annotated[str | None, typer.Option(help="only cases of this owner team")] = None,
    secret: Annotated[
        str | None, typer.Option(help="the signing secret (16+ characters); prefer --secret-stdin")
    ] = None,
    secret_stdin: Annotated[
        bool, typer.Option("--secret-stdin", help="read the signing secret from stdin")
    ] = False,
    actor: Actor = "cli",
) -> None:
    """Subscribe a URL to case events. Without a secret one is generated and printed once."""
    if secret is not None and secret_stdin:
        raise InvalidInputError("give --secret or --secret-stdin, not both",
                                location=Location(field="secret"))  # fmt: skip
    if secret_stdin:
        secret = sys.stdin.readline().strip()
    app = get_app()
    sub, used = notify_service.subscribe(url, events=events, secret=secret, team=team,
                                         actor=f"user:{actor}", uow=app.uow,
                                         clock=app.clock)  # fmt: skip
    console.print(f"subscribed {sub.id} -> {sub.url} "
                  f"({', '.join(e.value for e in sub.events)}"
                  f"{'' if sub.team is None else ', team ' + sub.team})",
                  soft_wrap=True)  # fmt: skip
    if secret is None:
        console.print(f"secret (shown once): {used}", soft_wrap=True)


@notify_app.command("list")
@guarded
def list_command(as_json: AsJson = False) -> None:
    """Subscriptions (never their secrets)."""
    subs = notify_service.list_subscriptions(reader=get_app().reader)
    if as_json:
        print_json([_subscription_json(s) for s in subs])
        return
    if not subs:
        console.print("no subscriptions")
    for s in subs:
        state = "active" if s.is_active else "disabled"
        console.print(f"{s.id} {state} {s.url} events={','.join(e.value for e in s.events)} "
                      f"team={s.team or '*'}", soft_wrap=True)  # fmt: skip


@notify_app.command("disable")
@guarded
def disable_command(
    subscription_id: Annotated[str, typer.Argument(help="an id or a unique start of it")],
    actor: Actor = "cli",
) -> None:
    """Stop sending to a subscription; its deliveries stay visible."""
    app = get_app()
    sub = notify_service.disable_subscription(subscription_id, actor=f"user:{actor}",
                                              uow=app.uow, clock=app.clock)  # fmt: skip
    console.print(f"disabled {sub.id}")


@notify_app.command("deliveries")
@guarded
def deliveries_command(
    status: Annotated[
        str | None, typer.Option(help="pending, retrying, delivered, failed or dead")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: AsJson = False,
) -> None:
    """Deliveries, newest first, with every attempt."""
    found = notify_service.list_deliveries(reader=get_app().reader, status=status, limit=limit)
    if as_json:
        print_json([_delivery_json(d) for d in found])
        return
    if not found:
        console.print("no deliveries")
    for d in found:
        console.print(f"{d.id} {d.event.type} case {d.case_id} v{d.case_version}: "
                      f"{d.status.value}, {d.attempts} attempts"
                      f"{'' if d.last_error is None else ' (' + d.last_error + ')'}",
                      soft_wrap=True)  # fmt: skip
        for a in d.history:
            code = "-" if a.status_code is None else str(a.status_code)
            console.print(f"  #{a.number} {a.at.isoformat()} {a.outcome.value} {code} "
                          f"{a.duration_ms} ms{'' if a.error is None else ' ' + a.error}",
                          soft_wrap=True)  # fmt: skip


@notify_app.command("run")
@guarded
def run_command() -> None:
    """Send every delivery due now, once (the worker does this every round)."""
    app = get_app()
    delivering = delivering_for(app)
    report = notify_service.deliver_due(uow=app.uow, clock=app.clock, delivering=delivering)
    console.print(f"sent {report.claimed:,}: delivered {report.delivered:,}, retrying "
                  f"{report.retrying:,}, failed {report.failed:,}, "
                  f"dead {report.dead:,}")  # fmt: skip


@notify_app.command("redeliver")
@guarded
def redeliver_command(
    delivery_id: Annotated[str, typer.Argument(help="an id or a unique start of it")],
    actor: Actor = "cli",
) -> None:
    """Queue a finished delivery again, now, with a fresh attempt budget."""
    app = get_app()
    d = notify_service.redeliver(delivery_id, actor=f"user:{actor}", uow=app.uow, clock=app.clock)
    console.print(f"{d.id}: {d.status.value}")


@metrics_app.command("show")
@guarded
def show_command(as_json: AsJson = False) -> None:
    """Every metric, read from the summaries."""
    app = get_app()
    x = metrics_service.read_metrics(reader=app.reader, clock=app.clock)
    if as_json:
        print_json(metrics_service.metrics_dict(x))
        return
    for line in metrics_lines(x):
        console.print(line, soft_wrap=True, markup=False)


def _pct(rate: metrics_service.Rate) -> str:
    return "-" if rate.rate is None else f"{rate.rate:.1%} ({rate.count:,} of {rate.of:,})"


def _duration(d: metrics_service.Durations) -> str:
    def text(seconds: float | None) -> str:
        if seconds is None:
            return "-"
        return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"

    return f"median {text(d.median_seconds)}, p90 {text(d.p90_seconds)} ({d.count:,} cases)"


def _counts(values: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in values.items()) or "-"


def metrics_lines(x: metrics_service.Metrics) -> list[str]:
    """``recoup metrics show``: one line per metric."""
    tiers = ", ".join(f"{t} {_pct(r)}" for t, r in x.tier_split.items())
    lines = [
        f"events {x.events:,}, findings {x.findings:,}; exception rate {_pct(x.exception_rate)}",
        f"cases {x.cases:,}, open {x.open_cases:,}: {_counts(x.by_status)}",
        f"tier split (aim 80/15/5): {tiers}",
        f"kind: {_counts(x.by_kind)}; breakpoints: {_counts(x.failures_by_breakpoint)}",
        f"time to first touch: {_duration(x.time_to_first_touch)}",
        f"time to resolution: {_duration(x.time_to_resolution)}",
        f"SLA breaches {x.sla_breaches:,} ({x.sla_breaches_open:,} still open)",
        f"first-touch resolution {_pct(x.first_touch_resolution)}",
        f"rework {_pct(x.rework)}, reopenings {x.reopens:,}",
        f"resolved without duplicate contact {_pct(x.resolved_without_duplicate_contact)}",
        f"reconciliation auto-match {_pct(x.reconcile_auto_match)}, "
        f"manual {_pct(x.manual_reconciliations)}",
        f"writeback success {_pct(x.writeback_success)}",
        "exposure open: " + (", ".join(money(a, c) for c, a in x.exposure_open.items()) or "-"),
        f"webhook deliveries: {_counts(x.deliveries)}",
    ]
    for a in x.amounts.values():
        recovered, lost = money(a.recovered, a.currency), money(a.lost, a.currency)
        written_off = money(a.written_off, a.currency)
        lines.append(f"{a.currency}: recovered {recovered}, written off {written_off}, lost {lost}")
    for r in x.recovery_by_reason:
        lines.append(f"recovery {r.reason_code}: {r.rate:.1%} ({r.recovered:,} of {r.ended:,})")
    for row in x.aging:
        lines.append(f"aging {row.category}/{row.owner_team} {row.band}: {row.count:,}")
    return lines


@metrics_app.command("rebuild")
@guarded
def rebuild_command(actor: Actor = "cli") -> None:
    """Recompute the case summaries from the cases (after upgrading a store that had cases)."""
    app = get_app()
    r = metrics_service.rebuild_metrics(uow=app.uow, clock=app.clock, actor=f"user:{actor}")
    console.print(f"rebuilt from {r.cases:,} cases: {r.counters:,} counters, "
                  f"{r.changed:,} changed, "
                  f"{r.codes_backfilled:,} reason codes backfilled")  # fmt: skip
