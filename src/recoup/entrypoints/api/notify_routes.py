"""Outbound webhooks and metrics over HTTP.

- ``GET /api/v1/webhooks/subscriptions`` (read), ``POST`` (admin: subscribe; the secret is
  answered once), ``POST /api/v1/webhooks/subscriptions/{id}/disable`` (admin)
- ``GET /api/v1/webhooks/deliveries`` (read; each with its attempts),
  ``POST /api/v1/webhooks/deliveries/{id}/redeliver`` (admin)
- ``GET /api/v1/metrics`` (read): every metric as JSON
- ``GET /metrics``: the same figures as Prometheus text, read from the summaries at each
  scrape by a custom collector. It takes ``Authorization: Bearer <RECOUP_NOTIFY__METRICS_KEY>``
  when that key is set, or any credentials with the read permission. Not in the OpenAPI schema.
"""

from __future__ import annotations

import hmac
import math
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from pydantic import BaseModel, Field

from recoup.bootstrap import App
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.identity import Permission
from recoup.domain.notify import Attempt, Delivery, Subscription
from recoup.entrypoints.api.deps import Admin, AppDep, PrincipalDep, Reader, current_principal
from recoup.entrypoints.api.v1.common import READ_ERRORS, WRITE_ERRORS, Text
from recoup.services import metrics as metrics_service
from recoup.services import notify as notify_service

router = APIRouter()

ObjectId = Annotated[Text, Path(max_length=64, description="an id or a unique start of it")]


# -- webhooks ------------------------------------------------------------------------------


class SubscriptionOut(BaseModel):
    id: str
    url: str
    events: list[str] = Field(description="opened, escalated, resolved, reopened")
    team: str | None = Field(description="only cases of this owner team; null: every team")
    is_active: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="the signing secret; shown this once")


class SubscribeIn(BaseModel):
    url: Text = Field(max_length=2000, description="an absolute http(s) URL")
    events: list[Literal["opened", "escalated", "resolved", "reopened"]] = Field(
        min_length=1, description="the case events to send"
    )
    team: Text | None = Field(default=None, max_length=64)
    secret: Text | None = Field(
        default=None, min_length=16, max_length=200,
        description="the signing secret; omitted: one is generated and answered once",
    )  # fmt: skip


class AttemptOut(BaseModel):
    number: int
    at: datetime
    outcome: str = Field(description="delivered, retrying, failed or dead")
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str = Field(description="also the `Recoup-Delivery` header")
    subscription_id: str
    case_id: str
    event: str
    case_version: int
    status: str = Field(description="pending, retrying, delivered, failed or dead")
    attempts: int
    next_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, Any]
    history: list[AttemptOut]


def subscription_out(sub: Subscription) -> dict[str, Any]:
    return sub.public()


def attempt_out(a: Attempt) -> dict[str, Any]:
    return {
        "number": a.number, "at": a.at, "outcome": a.outcome.value,
        "status_code": a.status_code, "error": a.error, "duration_ms": a.duration_ms,
    }  # fmt: skip


def delivery_out(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id, "subscription_id": d.subscription_id, "case_id": d.case_id,
        "event": d.event.value, "case_version": d.case_version, "status": d.status.value,
        "attempts": d.attempts, "next_at": d.next_at, "created_at": d.created_at,
        "delivered_at": d.delivered_at, "last_status_code": d.last_status_code,
        "last_error": d.last_error, "payload": d.payload,
        "history": [attempt_out(a) for a in d.history],
    }  # fmt: skip


@router.get("/api/v1/webhooks/subscriptions", response_model=list[SubscriptionOut],
            dependencies=[Reader], responses=READ_ERRORS, tags=["webhooks"],
            summary="Outbound webhook subscriptions (never their secrets)")  # fmt: skip
def list_subscriptions(app: AppDep) -> list[dict[str, Any]]:
    return [subscription_out(s) for s in notify_service.list_subscriptions(reader=app.reader)]


@router.post("/api/v1/webhooks/subscriptions", response_model=SubscriptionCreated,
             status_code=201, dependencies=[Admin], responses=WRITE_ERRORS, tags=["webhooks"],
             summary="Subscribe a URL to case events")  # fmt: skip
def subscribe(app: AppDep, who: PrincipalDep, body: SubscribeIn) -> dict[str, Any]:
    sub, secret = notify_service.subscribe(
        body.url, events=list(body.events), secret=body.secret, team=body.team,
        actor=who.actor, uow=app.uow, clock=app.clock,
    )  # fmt: skip
    return {**subscription_out(sub), "secret": secret}


@router.post("/api/v1/webhooks/subscriptions/{subscription_id}/disable",
             response_model=SubscriptionOut, dependencies=[Admin], responses=WRITE_ERRORS,
             tags=["webhooks"], summary="Stop sending to a subscription")  # fmt: skip
def disable(app: AppDep, who: PrincipalDep, subscription_id: ObjectId) -> dict[str, Any]:
    sub = notify_service.disable_subscription(subscription_id, actor=who.actor, uow=app.uow,
                                              clock=app.clock)  # fmt: skip
    return subscription_out(sub)


@router.get("/api/v1/webhooks/deliveries", response_model=list[DeliveryOut],
            dependencies=[Reader], responses=READ_ERRORS, tags=["webhooks"],
            summary="Deliveries, newest first, each with every attempt")  # fmt: skip
def list_deliveries(
    app: AppDep,
    status: Literal["pending", "retrying", "delivered", "failed", "dead"] | None = None,
    case_id: Annotated[str | None, Query(max_length=64)] = None,
    subscription_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    found = notify_service.list_deliveries(
        reader=app.reader, status=status, case_id=_uuid_or_none(case_id, "case_id"),
        subscription_id=_uuid_or_none(subscription_id, "subscription_id"), limit=limit,
    )  # fmt: skip
    return [delivery_out(d) for d in found]


@router.post("/api/v1/webhooks/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut,
             dependencies=[Admin], responses=WRITE_ERRORS, tags=["webhooks"],
             summary="Send a finished delivery again (a queued one is left as it is)")  # fmt: skip
def redeliver(app: AppDep, who: PrincipalDep, delivery_id: ObjectId) -> dict[str, Any]:
    delivery = notify_service.redeliver(delivery_id, actor=who.actor, uow=app.uow,
                                        clock=app.clock)  # fmt: skip
    return delivery_out(delivery)


def _uuid_or_none(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidInputError(f"{value!r} is not an id", location=Location(field=name)) from None


# -- metrics -------------------------------------------------------------------------------


class DurationsOut(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None


class RateOut(BaseModel):
    count: int
    of: int
    rate: float | None = Field(description="count / of; null when `of` is 0")


class AgingOut(BaseModel):
    category: str
    owner_team: str
    band: str = Field(description="under_1d, 1d_3d, 3d_7d or over_7d")
    count: int


class ReasonOut(BaseModel):
    reason_code: str
    recovered: int
    ended: int
    rate: float


class AmountsOut(BaseModel):
    currency: str
    recovered: Decimal
    written_off: Decimal
    lost: Decimal


class MetricsOut(BaseModel):
    generated_at: datetime
    events: int
    findings: int
    exception_rate: RateOut
    cases: int
    open_cases: int
    by_status: dict[str, int]
    tier_split: dict[str, RateOut]
    by_kind: dict[str, int]
    failures_by_breakpoint: dict[str, int]
    time_to_first_touch: DurationsOut
    time_to_resolution: DurationsOut
    aging: list[AgingOut]
    sla_breaches: int
    sla_breaches_open: int
    first_touch_resolution: RateOut
    rework: RateOut
    reopens: int
    resolved_without_duplicate_contact: RateOut
    manual_reconciliations: RateOut
    reconcile_auto_match: RateOut
    writeback_success: RateOut
    writebacks: dict[str, int]
    amounts: list[AmountsOut]
    recovery_by_reason: list[ReasonOut]
    exposure_open: dict[str, Decimal] = Field(description="currency -> money in open cases")
    deliveries: dict[str, int]


@router.get("/api/v1/metrics", response_model=MetricsOut, dependencies=[Reader],
            responses=READ_ERRORS, tags=["metrics"],
            summary="Every metric the product reports, from the summaries")  # fmt: skip
def get_metrics(app: AppDep) -> dict[str, Any]:
    x = metrics_service.read_metrics(reader=app.reader, clock=app.clock)
    return metrics_service.metrics_dict(x)


PROMETHEUS_BOUNDS = [float(2**k) for k in range(0, 25)]
"""Histogram bounds of the exposition: 1 s to 2^24 s (194 days), doubling; each is an edge of
the summary's buckets, so the cumulative counts are exact."""


class SummaryCollector:
    """Reads the summaries once per scrape and yields them as metric families."""

    def __init__(self, app: App) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        x = metrics_service.read_metrics(reader=self._app.reader, clock=self._app.clock)
        yield from prometheus_families(x)


def prometheus_families(x: metrics_service.Metrics) -> Iterator[Metric]:
    yield _counter("recoup_events", "Events accepted by ingest.", x.events)
    yield _counter("recoup_findings", "Findings raised by ingest.", x.findings)
    cases = GaugeMetricFamily("recoup_cases", "Cases by status.", labels=["status"])
    for status, n in x.by_status.items():
        cases.add_metric([status], n)
    yield cases
    tiers = GaugeMetricFamily("recoup_cases_by_tier", "Cases by tier.", labels=["tier"])
    for tier, rate in x.tier_split.items():
        tiers.add_metric([tier], rate.count)
    yield tiers
    points = GaugeMetricFamily("recoup_cases_by_breakpoint", "Cases by breakpoint.",
                               labels=["breakpoint"])  # fmt: skip
    for name, n in x.failures_by_breakpoint.items():
        points.add_metric([name], n)
    yield points
    for name, doc, d in (
        ("recoup_time_to_first_touch_seconds", "Opened to first touch.", x.time_to_first_touch),
        ("recoup_time_to_resolution_seconds", "Opened to resolved.", x.time_to_resolution),
    ):
        hist = HistogramMetricFamily(name, doc)
        hist.add_metric([], [(_le(b), float(n)) for b, n in d.cumulative(PROMETHEUS_BOUNDS)],
                        sum_value=None)  # fmt: skip
        yield hist
        quant = GaugeMetricFamily(f"{name}_quantile", f"{doc} From buckets.", labels=["quantile"])
        for q, value in (("0.5", d.median_seconds), ("0.9", d.p90_seconds)):
            if value is not None:
                quant.add_metric([q], value)
        yield quant
    aging = GaugeMetricFamily("recoup_open_cases_aging", "Open cases by age band.",
                              labels=["category", "owner_team", "band"])  # fmt: skip
    for row in x.aging:
        aging.add_metric([row.category, row.owner_team, row.band], row.count)
    yield aging
    breaches = GaugeMetricFamily("recoup_sla_breaches", "Cases whose SLA deadline passed.",
                                 labels=["state"])  # fmt: skip
    breaches.add_metric(["open"], x.sla_breaches_open)
    breaches.add_metric(["ended"], x.sla_breaches - x.sla_breaches_open)
    yield breaches
    for name, doc, rate in (
        ("recoup_first_touch_resolution", "Ended cases resolved in one touch.",
         x.first_touch_resolution),
        ("recoup_rework", "Cases reopened at least once.", x.rework),
        ("recoup_without_duplicate_contact", "Ended cases without a duplicate claim.",
         x.resolved_without_duplicate_contact),
        ("recoup_reconcile_manual", "Reconciliation pairs made by an operator.",
         x.manual_reconciliations),
        ("recoup_reconcile_auto_match", "Reconciliation pairs matched automatically.",
         x.reconcile_auto_match),
        ("recoup_writeback_success", "Writebacks confirmed of those finished.",
         x.writeback_success),
        ("recoup_exception_rate", "Findings per accepted event.", x.exception_rate),
    ):  # fmt: skip
        family = GaugeMetricFamily(f"{name}_ratio", doc)
        family.add_metric([], rate.rate if rate.rate is not None else math.nan)
        yield family
    writebacks = GaugeMetricFamily("recoup_writebacks", "Writebacks by status.",
                                   labels=["status"])  # fmt: skip
    for status, n in x.writebacks.items():
        writebacks.add_metric([status], n)
    yield writebacks
    money = GaugeMetricFamily("recoup_outcome_amount", "Money by outcome figure.",
                              labels=["figure", "currency"])  # fmt: skip
    for a in x.amounts.values():
        for figure in ("recovered", "written_off", "lost"):
            money.add_metric([figure, a.currency], float(getattr(a, figure)))
    yield money
    reasons = GaugeMetricFamily("recoup_recovery_by_reason_ratio",
                                "Ended cases that recovered money, by reason code.",
                                labels=["reason_code"])  # fmt: skip
    for r in x.recovery_by_reason:
        reasons.add_metric([r.reason_code], r.rate)
    yield reasons
    exposure = GaugeMetricFamily("recoup_exposure_open", "Money at stake in open cases.",
                                 labels=["currency"])  # fmt: skip
    for currency, amount in x.exposure_open.items():
        exposure.add_metric([currency], float(amount))
    yield exposure
    deliveries = GaugeMetricFamily("recoup_webhook_deliveries", "Outbound deliveries by status.",
                                   labels=["status"])  # fmt: skip
    for status, n in x.deliveries.items():
        deliveries.add_metric([status], n)
    yield deliveries


def _counter(name: str, doc: str, value: int) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc)
    family.add_metric([], value)
    return family


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else f"{bound:g}"


@router.get("/metrics", include_in_schema=False)
def prometheus(request: Request, app: AppDep) -> Response:
    key = app.settings.notify.metrics_key
    given = request.headers.get("authorization", "").encode()
    wanted = f"Bearer {key.get_secret_value()}".encode() if key is not None else b""
    if key is None or not hmac.compare_digest(given, wanted):
        current_principal(request).require(Permission.READ)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SummaryCollector(app))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
