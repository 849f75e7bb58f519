"""`recoup sync stripe`: the Events API client against recorded pages (httpx.MockTransport),
the walk and its cursor on SQLite and PostgreSQL, and the command as a user runs it.

The recorded pages (``tests/fixtures/stripe-sync``) hold 8 events, newest first, 3 a page:
e8 e7 e6 | e5 e4 e3 | e2 e1, of which e6 (``customer.updated``) is a type Recoup does not track
and e7 (``charge.refunded``) becomes one refund event. The resume page holds e10 e9 and e8 again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import typer
from typer.testing import CliRunner

from recoup.adapters.connectors.sync.stripe_events import RetryPolicy, StripeEventsClient
from recoup.adapters.connectors.webhooks import stripe
from recoup.bootstrap import App
from recoup.domain.errors import (
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    RetryableExternalError,
    TerminalExternalError,
)
from recoup.entrypoints.cli import sync_cmds
from recoup.services.audit import verify_audit
from recoup.services.ingest import ingest_records
from recoup.services.sync import (
    CURSOR_ADVANCED,
    SYNC_ACTOR,
    SyncCursor,
    SyncReport,
    sync_stripe_events,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "stripe-sync"
KEY = "sk_test_51RecoupFakeKey0000000000000000000000000000w7Qz"
NAME = "sync:stripe:stripe"
SINCE = datetime(2026, 9, 30, tzinfo=UTC)
GTE = "1790726400"  # SINCE as a unix time

E1 = (1790759112, "evt_3Q9vLk2eZvKYlo2C0gH1aB7d")  # (created, id), oldest
E6 = (1790777444, "evt_1Q9zZp2eZvKYlo2C0bN6mM1a")  # the oldest of page 1
E8 = (1790786530, "evt_3QA1Mn2eZvKYlo2C1qR8sT9u")  # the newest of the first window
E10 = (1790787807, "evt_1QA1Tu2eZvKYlo2C2vW9xY0z")  # the newest of the resume page
E3_ID = "evt_3Q9xAb2eZvKYlo2C0kL7cE2n"
E4_ID = "evt_3Q9yHn2eZvKYlo2C1pR4tU9x"
E9_ID = "evt_3QA1Pq2eZvKYlo2C0fG3hI4j"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


PAGES = [fixture(f"events-page-{n}.json") for n in (1, 2, 3)]
RESUME = fixture("events-resume.json")


# -- a recorded Stripe ----------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: type[httpx.TransportError] | None = None


def ok(body: bytes) -> Reply:
    return Reply(200, body, {"Request-Id": "req_replay"})


def fail(status: int, body: bytes, **headers: str) -> Reply:
    return Reply(status, body, {"Request-Id": "req_failed", **headers})


@dataclass
class FakeStripe:
    """Replays scripted replies in order and keeps every request it was sent."""

    replies: list[Reply]
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.replies, f"unexpected request {request.url}"
        reply = self.replies.pop(0)
        if reply.error is not None:
            raise reply.error("connection reset by peer", request=request)
        return httpx.Response(reply.status, content=reply.body, headers=reply.headers)

    @property
    def params(self) -> list[dict[str, str]]:
        return [dict(request.url.params) for request in self.requests]


def client(fake: FakeStripe, waits: list[float] | None = None, **kwargs: Any) -> StripeEventsClient:
    sleep: Callable[[float], None] = (waits if waits is not None else []).append
    kwargs.setdefault("page_size", 3)
    return StripeEventsClient(KEY, transport=httpx.MockTransport(fake.handle), sleep=sleep,
                              **kwargs)  # fmt: skip


def page_params(gte: str = GTE, after: str | None = None, **extra: str) -> dict[str, str]:
    params = {"limit": "3", "created[gte]": gte, **extra}
    if after is not None:
        params["starting_after"] = after
    return params


def sync(app: App, fake: FakeStripe, **kwargs: Any) -> SyncReport:
    with client(fake) as api:
        return sync_stripe_events(client=api, uow=app.uow, clock=app.clock,
                                  detectors=app.detectors, mapper=stripe.events_from_payload,
                                  tracked_types=stripe.TRACKED_TYPES, **kwargs)  # fmt: skip


def stored_cursor(app: App, name: str = NAME) -> dict[str, Any] | None:
    with app.reader() as tx:
        text = tx.get_cursor(name)
    return None if text is None else json.loads(text)


def cursor_audit(app: App) -> list[dict[str, Any]]:
    with app.reader() as tx:
        records = [r for r in tx.audit_records() if r.action == CURSOR_ADVANCED]
    assert {(r.actor, r.subject_type, r.subject_id) for r in records} <= {
        (SYNC_ACTOR, "sync_cursor", NAME)
    }
    return [json.loads(r.data) for r in records]


def event_count(app: App) -> int:
    with app.reader() as tx:
        return tx.store_counts()["events"]


def mark(event: tuple[int, str]) -> dict[str, Any]:
    return {"created": event[0], "id": event[1]}


# -- the client -----------------------------------------------------------------------------------


def test_pages_walk_back_with_starting_after_and_keep_each_event_exact() -> None:
    fake = FakeStripe([ok(body) for body in PAGES])

    with client(fake) as api:
        pages = list(api.pages(created_gte=int(GTE)))

    assert fake.params == [
        page_params(),
        page_params(after=E6[1]),
        page_params(after=E3_ID),
    ]
    for request in fake.requests:
        assert (request.method, request.url.host, request.url.path) == (
            "GET", "api.stripe.com", "/v1/events",
        )  # fmt: skip
        assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert [len(p.events) for p in pages] == [3, 3, 2]
    assert [p.has_more for p in pages] == [True, True, False]
    first = pages[0].events[0]
    assert (first.id, first.created, first.type) == (E8[1], E8[0], "payment_intent.succeeded")
    for page, body in zip(pages, PAGES, strict=True):
        recorded = json.loads(body)["data"]
        for event, original in zip(page.events, recorded, strict=True):
            assert event.body in body  # the bytes Stripe sent, not a re-encoding
            assert json.loads(event.body) == original


def test_an_upper_bound_is_sent_as_created_lte() -> None:
    fake = FakeStripe([ok(PAGES[2])])

    with client(fake) as api:
        list(api.pages(created_gte=int(GTE), created_lte=1790762000))

    assert fake.params == [page_params(**{"created[lte]": "1790762000"})]


def test_429_waits_as_long_as_retry_after_says_then_goes_on() -> None:
    fake = FakeStripe([fail(429, fixture("error-429.json"), **{"Retry-After": "2"}), ok(PAGES[2])])
    waits: list[float] = []

    with client(fake, waits) as api:
        (page,) = api.pages(created_gte=int(GTE))

    assert waits == [2.0]
    assert fake.params == [page_params(), page_params()]
    assert len(page.events) == 2


def test_500s_are_retried_with_backoff_then_retryable_after_the_budget() -> None:
    fake = FakeStripe([fail(500, fixture("error-500.json")) for _ in range(5)])
    waits: list[float] = []

    with client(fake, waits) as api, pytest.raises(RetryableExternalError) as caught:
        list(api.pages(created_gte=int(GTE)))

    assert waits == [0.5, 1.0, 2.0, 4.0]
    assert len(fake.requests) == 5
    assert str(caught.value) == (
        "Stripe Events API still failing after 5 attempts; last: HTTP 500 api_error: "
        "An unknown error occurred [request req_failed]"
    )


def test_network_errors_are_retried() -> None:
    fake = FakeStripe([Reply(error=httpx.ConnectError), Reply(error=httpx.ReadTimeout),
                       ok(PAGES[2])])  # fmt: skip
    waits: list[float] = []

    with client(fake, waits, retry=RetryPolicy(initial_delay=1, multiplier=3)) as api:
        (page,) = api.pages(created_gte=int(GTE))

    assert waits == [1.0, 3.0]
    assert len(page.events) == 2


def test_a_long_retry_after_gives_up_at_once() -> None:
    fake = FakeStripe([fail(429, fixture("error-429.json"), **{"Retry-After": "3600"})])
    waits: list[float] = []

    with client(fake, waits) as api, pytest.raises(RetryableExternalError, match="3600 s"):
        list(api.pages(created_gte=int(GTE)))

    assert waits == []


def test_stripe_should_retry_overrides_the_status() -> None:
    lock = b'{"error": {"code": "lock_timeout", "message": "busy", "type": "api_error"}}'
    fake = FakeStripe([fail(409, lock, **{"Stripe-Should-Retry": "true"}), ok(PAGES[2]),
                       fail(503, b"", **{"Stripe-Should-Retry": "false"})])  # fmt: skip
    waits: list[float] = []

    with client(fake, waits) as api:
        assert len(list(api.pages(created_gte=int(GTE)))) == 1
        with pytest.raises(RetryableExternalError, match="advised against retrying"):
            list(api.pages(created_gte=int(GTE)))

    assert waits == [0.5]


def test_401_is_terminal_names_the_key_problem_and_never_the_key() -> None:
    fake = FakeStripe([fail(401, fixture("error-401.json"))])
    waits: list[float] = []

    with client(fake, waits) as api, pytest.raises(TerminalExternalError) as caught:
        list(api.pages(created_gte=int(GTE)))

    message = str(caught.value)
    assert message.startswith("Stripe rejected the API key (HTTP 401 invalid_request_error: ")
    assert KEY not in message
    assert KEY not in repr(api)
    assert (len(fake.requests), waits) == (1, [])


def test_other_4xx_is_terminal_with_stripes_message() -> None:
    body = (b'{"error": {"code": "parameter_invalid_integer", "message": "Invalid integer: '
            b'abc", "param": "created[gte]", "type": "invalid_request_error"}}')  # fmt: skip
    fake = FakeStripe([fail(400, body)])

    with client(fake) as api, pytest.raises(TerminalExternalError) as caught:
        list(api.pages(created_gte=int(GTE)))

    assert str(caught.value) == (
        "Stripe refused the request (HTTP 400 invalid_request_error/parameter_invalid_integer: "
        "Invalid integer: abc [request req_failed])"
    )
    assert len(fake.requests) == 1


def test_a_page_that_points_at_itself_is_refused_rather_than_followed_forever() -> None:
    page = json.loads(PAGES[0])
    page["data"] = page["data"][2:]  # ends at e6, the event it is asked to start after
    fake = FakeStripe([ok(PAGES[0]), ok(msgspec.json.encode(page))])

    with client(fake) as api, pytest.raises(TerminalExternalError, match="would never end"):
        list(api.pages(created_gte=int(GTE)))

    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("key", "message"),
    [("  ", "the Stripe API key is empty"), ("pk_test_123", "that is a publishable key")],
)
def test_a_key_that_cannot_work_is_refused_before_any_request(key: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        StripeEventsClient(key)


# -- the walk and its cursor (SQLite and PostgreSQL) ----------------------------------------------


def test_first_sync_reads_the_window_ingests_and_stores_the_newest_event(app: App) -> None:
    fake = FakeStripe([ok(body) for body in PAGES])
    seen: list[int] = []

    report = sync(app, fake, since=SINCE, on_page=lambda r: seen.append(r.pages))

    assert fake.params == [page_params(), page_params(after=E6[1]), page_params(after=E3_ID)]
    assert (report.pages, report.events_fetched, report.skipped) == (3, 8, 1)
    assert (report.accepted, report.new_events, report.duplicates, report.quarantined) == (
        7, 7, 0, 0,
    )  # fmt: skip
    assert dict(report.ingest.findings_by_type) == {"payment_failed": 2, "dispute_opened": 1}
    assert seen == [1, 2, 3]
    assert report.is_complete
    assert report.cursor_before == SyncCursor()
    assert stored_cursor(app) == mark(E8)
    audit = cursor_audit(app)
    assert [(a["page"], a["walk_complete"]) for a in audit] == [(1, False), (2, False), (3, True)]
    assert audit[0]["before"] is None
    assert audit[0]["after"] == {
        "walk": {"since": int(GTE), "newest": mark(E8), "oldest": mark(E6)}
    }
    assert audit[2]["after"] == mark(E8)
    assert verify_audit(reader=app.reader).problem is None


def test_the_next_sync_resumes_from_the_cursor_minus_the_overlap(app: App) -> None:
    sync(app, FakeStripe([ok(body) for body in PAGES]), since=SINCE)
    fake = FakeStripe([ok(RESUME)])

    report = sync(app, fake)

    assert fake.params == [page_params(gte=str(E8[0] - 300))]
    assert (report.accepted, report.new_events, report.duplicates) == (3, 2, 1)
    assert event_count(app) == 9  # 7 + e9 + e10; e8 of the overlap is not doubled
    assert report.cursor_before == SyncCursor.from_text(json.dumps(mark(E8)))
    assert stored_cursor(app) == mark(E10)


def test_an_interrupted_walk_goes_on_where_it_stopped_then_catches_up(app: App) -> None:
    first = sync(app, FakeStripe([ok(PAGES[0])]), since=SINCE, limit_pages=1)
    assert (first.pages, first.is_complete) == (1, False)
    walk = {"since": int(GTE), "newest": mark(E8), "oldest": mark(E6)}
    assert stored_cursor(app) == {"walk": walk}
    fake = FakeStripe([ok(PAGES[1]), ok(PAGES[2]), ok(RESUME)])

    report = sync(app, fake)

    assert fake.params == [
        page_params(**{"created[lte]": str(E6[0])}),
        page_params(after=E3_ID, **{"created[lte]": str(E6[0])}),
        page_params(gte=str(E8[0] - 300)),
    ]
    assert (report.pages, report.is_complete) == (3, True)
    assert (report.new_events, report.duplicates) == (7, 1)
    assert event_count(app) == 9
    assert stored_cursor(app) == mark(E10)
    assert verify_audit(reader=app.reader).problem is None


def test_an_event_received_by_webhook_is_a_duplicate_for_the_sync(app: App) -> None:
    delivery = json.dumps(json.loads(PAGES[1])["data"][1]).encode()  # e4, as a webhook body
    events = stripe.events_from_payload(delivery, received_at=app.clock.now(), label="hook:stripe")
    ingest_records(events, uow=app.uow, clock=app.clock, detectors=app.detectors,
                   label="hook:stripe", format_name="stripe-events")  # fmt: skip

    report = sync(app, FakeStripe([ok(body) for body in PAGES]), since=SINCE)

    assert (report.accepted, report.new_events, report.duplicates) == (7, 6, 1)
    assert dict(report.ingest.findings_by_type) == {"payment_failed": 1, "dispute_opened": 1}
    assert event_count(app) == 7


def test_a_failure_mid_walk_keeps_the_pages_already_committed(app: App) -> None:
    fake = FakeStripe([ok(PAGES[0]), *[fail(503, b"") for _ in range(5)]])

    with pytest.raises(RetryableExternalError) as caught:
        sync(app, fake, since=SINCE)

    assert "the 1 page read before stay committed" in str(caught.value)
    assert event_count(app) == 2  # e8 and e7's refund
    assert stored_cursor(app) == {"walk": {"since": int(GTE), "newest": mark(E8),
                                           "oldest": mark(E6)}}  # fmt: skip


def test_a_malformed_page_is_a_located_error_and_nothing_of_it_is_stored(app: App) -> None:
    truncated = PAGES[1][: len(PAGES[1]) // 2]
    fake = FakeStripe([ok(PAGES[0]), ok(truncated)])

    with pytest.raises(TerminalExternalError) as caught:
        sync(app, fake, since=SINCE)

    message = str(caught.value)
    assert message.startswith(
        "Stripe Events API page 2 (GET /v1/events?created[gte]=1790726400&limit=3&"
        f"starting_after={E6[1]}): not a Stripe list object: Input data was truncated"
    )
    assert event_count(app) == 2
    assert stored_cursor(app) == {"walk": {"since": int(GTE), "newest": mark(E8),
                                           "oldest": mark(E6)}}  # fmt: skip


def test_a_malformed_event_is_quarantined_with_its_location(app: App) -> None:
    report = sync(app, FakeStripe([ok(fixture("events-malformed-event.json"))]), since=SINCE)

    assert (report.accepted, report.quarantined) == (1, 1)
    (rejection,) = report.ingest.first_rejections
    assert (rejection.location.file, rejection.location.field) == (f"{NAME} {E9_ID}", "created")
    with app.reader() as tx:
        (item,) = tx.list_quarantine("open", 10)
    assert (item.format, item.code) == ("stripe-events", "invalid_field")
    assert item.raw.encode() in fixture("events-malformed-event.json")  # Stripe's own bytes
    assert stored_cursor(app) == {"created": 1790770531, "id": E4_ID}


def test_an_empty_window_stores_its_start_so_the_next_sync_can_resume(app: App) -> None:
    empty = msgspec.json.encode({"object": "list", "data": [], "has_more": False,
                                 "url": "/v1/events"})  # fmt: skip

    report = sync(app, FakeStripe([ok(empty)]), since=SINCE)

    assert (report.pages, report.events_fetched, report.is_complete) == (1, 0, True)
    assert stored_cursor(app) == {"created": int(GTE), "id": None}


def test_without_a_cursor_the_first_sync_needs_since(app: App) -> None:
    fake = FakeStripe([])

    with pytest.raises(InvalidInputError, match="the first sync needs --since"):
        sync(app, fake)

    assert (fake.requests, stored_cursor(app), cursor_audit(app)) == ([], None, [])


def test_a_cursor_moved_by_another_sync_meanwhile_is_a_conflict(app: App) -> None:
    def meddle(report: SyncReport) -> None:
        with app.uow() as tx:
            tx.set_cursor(NAME, json.dumps(mark(E1)), app.clock.now())
            tx.commit()

    fake = FakeStripe([ok(PAGES[0]), ok(PAGES[1])])

    with pytest.raises(ConflictError, match="moved by another sync"):
        sync(app, fake, since=SINCE, on_page=meddle)

    assert stored_cursor(app) == mark(E1)
    assert len(cursor_audit(app)) == 1


def test_since_replaces_an_unfinished_walk_and_says_so(app: App) -> None:
    sync(app, FakeStripe([ok(PAGES[0])]), since=SINCE, limit_pages=1)

    report = sync(app, FakeStripe([ok(PAGES[2])]), since=SINCE, until=SINCE + timedelta(hours=10))

    assert report.warnings == [
        "the unfinished walk from 2026-09-30T00:00:00Z down to "
        f"{E6[1]} at 2026-09-30T14:10:44Z is replaced by --since"
    ]
    assert stored_cursor(app) == {"created": 1790761660, "id": "evt_3Q9w0Y2eZvKYlo2C1fV6pQ0m"}


def test_an_unreadable_cursor_is_refused_unless_since_starts_over(app: App) -> None:
    with app.uow() as tx:
        tx.set_cursor(NAME, "evt_hand_edited", app.clock.now())
        tx.commit()

    with pytest.raises(ConfigurationError, match="give --since to start over"):
        sync(app, FakeStripe([]))
    report = sync(app, FakeStripe([ok(PAGES[2])]), since=SINCE)

    assert report.warnings == [f"the unreadable cursor {NAME} is replaced"]
    assert cursor_audit(app)[0]["before"] == "evt_hand_edited"
    assert stored_cursor(app) == {"created": 1790761660, "id": "evt_3Q9w0Y2eZvKYlo2C1fV6pQ0m"}


def test_a_window_older_than_stripe_keeps_events_is_warned_about(app: App) -> None:
    report = sync(app, FakeStripe([ok(PAGES[2])]), since=app.clock.now() - timedelta(days=40))

    assert report.warnings == [
        "Stripe lists the last 30 days of events only: nothing before 2026-09-01T12:00:00+00:00 "
        "can be fetched"
    ]


# -- the command ----------------------------------------------------------------------------------


def cli() -> typer.Typer:
    """The root app as `recoup.entrypoints.cli.main` registers the sub-app."""
    root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @root.callback()
    def _root() -> None: ...

    root.add_typer(sync_cmds.sync_app, name="sync")
    return root


@pytest.fixture
def command(
    app: App, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str, FakeStripe]]:
    monkeypatch.setenv("RECOUP_DATABASE__URL", store_url)

    def run(replies: list[Reply], *args: str) -> tuple[int, str, FakeStripe]:
        fake = FakeStripe(replies)

        def make(api_key: str) -> StripeEventsClient:
            return StripeEventsClient(api_key, transport=httpx.MockTransport(fake.handle),
                                      sleep=lambda _: None)  # fmt: skip

        monkeypatch.setattr(sync_cmds, "make_stripe_client", make)
        result = CliRunner().invoke(cli(), ["sync", "stripe", *args])
        return result.exit_code, result.output, fake

    return run


def test_the_command_syncs_and_prints_what_it_read(
    command: Callable[..., tuple[int, str, FakeStripe]], app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", KEY)

    code, out, fake = command([ok(body) for body in PAGES], "--since", "2026-09-30")

    assert code == 0, out
    assert fake.params[0] == {"limit": "100", "created[gte]": GTE}
    assert fake.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    assert f"{NAME}: 3 pages, 8 Stripe events read (1 of types Recoup does not track)" in out
    assert "accepted 7 (7 new, 0 duplicate) + quarantined 0; findings 3, cases opened 3" in out
    assert f"cursor {E8[1]} at 2026-09-30T16:42:10Z (was none)" in out
    assert KEY not in out
    assert stored_cursor(app) == mark(E8)


def test_the_command_resumes_and_stops_at_the_page_limit(
    command: Callable[..., tuple[int, str, FakeStripe]], app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_STRIPE_KEY", KEY)
    first, out, _ = command([ok(PAGES[0])], "--since", "2026-09-30T00:00:00+00:00",
                            "--limit-pages", "1", "--api-key-env", "MY_STRIPE_KEY")  # fmt: skip
    assert first == 0, out
    assert "stopped at --limit-pages" in out

    code, out, fake = command([ok(PAGES[1]), ok(PAGES[2]), ok(RESUME)],
                              "--api-key-env", "MY_STRIPE_KEY")  # fmt: skip

    assert code == 0, out
    assert [p.get("starting_after") for p in fake.params] == [None, E3_ID, None]
    assert "accepted 8 (7 new, 1 duplicate)" in out
    assert stored_cursor(app) == mark(E10)


def test_a_missing_key_is_a_configuration_error(
    command: Callable[..., tuple[int, str, FakeStripe]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)

    code, out, fake = command([], "--since", "2026-09-30")

    assert code == 7
    assert out.strip() == (
        "error: no Stripe API key: set the environment variable STRIPE_API_KEY (or name "
        "another with --api-key-env)"
    )
    assert fake.requests == []


def test_a_rejected_key_exits_8_without_printing_the_key(
    command: Callable[..., tuple[int, str, FakeStripe]], app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", KEY)

    code, out, _ = command([fail(401, fixture("error-401.json"))], "--since", "2026-09-30")

    assert code == 8
    assert out.startswith("error: Stripe rejected the API key (HTTP 401")
    assert KEY not in out
    assert stored_cursor(app) is None


def test_a_bad_date_exits_3(
    command: Callable[..., tuple[int, str, FakeStripe]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", KEY)

    code, out, _ = command([], "--since", "last tuesday")

    assert code == 3
    assert "field --since: 'last tuesday' is not a date" in out


def test_the_window_is_bounded_by_until(app: App) -> None:
    fake = FakeStripe([ok(PAGES[2])])

    sync(app, fake, since=SINCE, until=SINCE + timedelta(hours=10))

    assert fake.params == [page_params(**{"created[lte]": str(int(GTE) + 36000 - 1)})]
    assert stored_cursor(app) == {"created": 1790761660, "id": "evt_3Q9w0Y2eZvKYlo2C1fV6pQ0m"}
