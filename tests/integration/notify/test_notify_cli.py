"""``recoup notify ...`` and ``recoup metrics ...`` as a user runs them, on SQLite and
PostgreSQL, against a real receiver on loopback (the CLI sends by the wall clock)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from recoup.adapters.clock import SystemClock
from recoup.bootstrap import App
from recoup.entrypoints.cli.main import create_cli
from recoup.entrypoints.cli.notify_cmds import metrics_app
from recoup.services.ingest import ingest_records
from tests.helpers import raw, record
from tests.integration.notify.receiver import Receiver, serve

SECRET = "whsec_cli_0123456789abcdef"
runner = CliRunner()


@pytest.fixture
def cli_store(app: App, store_url: str, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("RECOUP_DATABASE__URL", store_url)
    return app


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve(Receiver(SECRET, SystemClock()))


def recoup(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(create_cli(), list(args), input=stdin)
    return result.exit_code, result.output


def test_subscribe_ingest_run_and_list(cli_store: App, receiver: Receiver) -> None:
    code, out = recoup("notify", "subscribe", receiver.url, "--events", "opened",
                       "--secret-stdin", stdin=SECRET + "\n")  # fmt: skip
    assert code == 0, out
    assert "subscribed" in out
    assert "secret (shown once)" not in out
    code, out = recoup("notify", "list", "--json")
    [sub] = json.loads(out)
    assert (sub["url"], sub["events"], sub["is_active"]) == (receiver.url, ["opened"], True)
    assert "secret" not in sub

    records = [record("f1", "payment.failed", amount="10.00", reason="stripe:card_declined",
                      payment="pi_1", customer="c1")]  # fmt: skip
    ingest_records(raw(records), uow=cli_store.uow, clock=cli_store.clock,
                   detectors=cli_store.detectors, label="t")  # fmt: skip
    code, out = recoup("notify", "run")
    assert code == 0, out
    assert "sent 1: delivered 1, retrying 0, failed 0, dead 0" in out
    assert [r.signature_ok for r in receiver.received] == [True]

    code, out = recoup("notify", "deliveries", "--json")
    [delivery] = json.loads(out)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    assert delivery["history"][0]["status_code"] == 200
    code, out = recoup("notify", "redeliver", delivery["id"][:8])
    assert (code, out.strip()) == (0, f"{delivery['id']}: pending")
    code, out = recoup("notify", "disable", sub["id"])
    assert (code, out.strip()) == (0, f"disabled {sub['id']}")


def test_bad_input_exits_with_the_input_code(cli_store: App) -> None:
    code, out = recoup("notify", "subscribe", "ftp://x")
    assert code == 3
    assert "url" in out
    code, out = recoup("notify", "subscribe", "https://x.test/h", "--events", "closed")
    assert code == 3
    assert "unknown event closed" in out
    code, out = recoup("notify", "redeliver", "ffffffff")
    assert code == 4
    code, out = recoup("notify", "list")
    assert out.strip() == "no subscriptions"


def test_metrics_show_and_rebuild(cli_store: App) -> None:
    records = [record(f"f{i}", "payment.failed", minutes=i, amount="10.00",
                      reason="stripe:card_declined", payment=f"pi_{i}", customer=f"c{i}")
               for i in range(3)]  # fmt: skip
    ingest_records(raw(records), uow=cli_store.uow, clock=cli_store.clock,
                   detectors=cli_store.detectors, label="t")  # fmt: skip
    result = runner.invoke(metrics_app, ["show"])
    assert result.exit_code == 0, result.output
    assert "events 3, findings 3; exception rate 100.0% (3 of 3)" in result.output
    assert "exposure open: 30.00 EUR" in result.output
    result = runner.invoke(metrics_app, ["show", "--json"])
    assert json.loads(result.output)["open_cases"] == 3
    result = runner.invoke(metrics_app, ["rebuild"])
    assert result.exit_code == 0, result.output
    assert "rebuilt from 3 cases" in result.output
    assert ", 0 changed," in result.output
