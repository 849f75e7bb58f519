"""`recoup writeback status|run|replay` and `recoup ledger export` as a user runs them, with the
signed-webhook target pointed at a real receiving server on 127.0.0.1."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from recoup.bootstrap import App, bootstrap
from recoup.domain.money import Money
from recoup.domain.recovery.ledger import LedgerOptions, postings_for
from recoup.services.writeback import post_journal
from recoup.settings import DatabaseSettings, Settings
from tests.conftest import T0
from tests.e2e.test_cli import db as db
from tests.e2e.test_cli import recoup
from tests.integration.recovery.test_outbox import SECRET, Receiver, queue, seed
from tests.integration.recovery.test_outbox import receiver as receiver


@pytest.fixture
def store(db: str) -> Iterator[App]:
    """The CLI's database, opened directly to put cases and writebacks in (system clock:
    the CLI sends what is due by the wall clock)."""
    app = bootstrap(Settings(database=DatabaseSettings(url=db)))
    app.ensure_schema()
    yield app
    app.close()


@pytest.fixture
def webhook(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Receiver:
    monkeypatch.setenv("RECOUP_WRITEBACK__TARGET", "webhook")
    monkeypatch.setenv("RECOUP_WRITEBACK__WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("RECOUP_WRITEBACK__WEBHOOK_SECRET", SECRET)
    return receiver


def test_status_on_an_empty_outbox(store: App) -> None:
    code, out = recoup("writeback", "status")
    assert code == 0, out
    assert out.strip() == "pending 0, retrying 0, confirmed 0, dead 0"


def test_run_without_a_target_says_how_to_set_one(store: App) -> None:
    code, out = recoup("writeback", "run", "--once")
    assert code == 7
    assert "writeback is off (RECOUP_WRITEBACK__TARGET=none)" in out


def test_run_status_replay_round_trip(store: App, webhook: Receiver) -> None:
    good, bad = seed(store, 2)
    queue(store, good)
    queue(store, bad, reject=True)

    code, out = recoup("writeback", "status", "--json")
    assert code == 0, out
    status = json.loads(out)
    assert status["counts"] == {"pending": 2, "retrying": 0, "confirmed": 0, "dead": 0}
    assert status["oldest_due"]["case_id"] in (good, bad)

    code, out = recoup("writeback", "run", "--once")
    assert code == 0, out
    assert "sent 2: confirmed 1, retrying 0, dead 1; cases resolved 1" in out

    code, out = recoup("writeback", "status", "--json")
    status = json.loads(out)
    assert status["counts"] == {"pending": 0, "retrying": 0, "confirmed": 1, "dead": 1}
    (dead,) = status["dead"]
    assert (dead["case_id"], dead["last_http_status"], dead["attempts"]) == (bad, 400, 1)
    assert "unknown order" in dead["last_detail"]
    code, out = recoup("writeback", "status")
    assert "dead letters" in out
    assert "unknown order" in out

    code, out = recoup("writeback", "replay")
    assert code == 3
    assert "give writeback ids or --all-dead" in out
    code, out = recoup("writeback", "replay", "ffffffff")
    assert code == 4
    assert "no writeback 'ffffffff'" in out

    with store.reader() as tx:
        confirmed = next(i for i in tx.list_outbox(None, 10) if i.case_id == good)
    code, out = recoup("writeback", "replay", confirmed.id[:10])
    assert code == 0, out
    assert "replayed 0" in out
    assert f"{confirmed.id}: already confirmed, nothing to replay" in out

    webhook.fixed = True
    code, out = recoup("writeback", "replay", "--all-dead")
    assert code == 0, out
    assert "replayed 1" in out
    code, out = recoup("writeback", "run", "--once", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert (report["claimed"], report["confirmed"], report["cases_resolved"]) == (1, 1, 1)
    assert report["resolved_case_ids"] == [bad]
    assert sorted(webhook.effects.values()) == [1, 1]

    code, out = recoup("writeback", "status")
    assert out.splitlines()[0] == "pending 0, retrying 0, confirmed 2, dead 0"


def test_ledger_export_writes_the_journal_in_the_range(store: App, tmp_path: Path) -> None:
    case_id, other = seed(store, 2)
    early = postings_for("write_off", Money(Decimal("4.5"), "USD"), case_id, T0, key="a")
    late = postings_for("fee", Money(Decimal("15"), "EUR"), other, T0 + timedelta(days=2),
                        key="b")  # fmt: skip
    with store.uow() as tx:
        post_journal(tx, [early, late], LedgerOptions())
        tx.commit()
    output = tmp_path / "journal.csv"

    code, out = recoup("ledger", "export", "--output", str(output), "--since", "2026-10-02")

    assert code == 0, out
    assert f"wrote 2 journal lines to {output}" in out
    with output.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["date"], r["kind"], r["account_code"], r["debit"], r["credit"]) for r in rows] == [
        ("2026-10-03", "fee", "6300", "15.00", ""),
        ("2026-10-03", "fee", "1050", "", "15.00"),
    ]
    code, out = recoup("ledger", "export", "--output", str(output))
    assert "wrote 4 journal lines" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since 'yesterday' is not an ISO 8601 date or time"),
        (["--until", "2026-10-02T10:00"], "has no time zone"),
        (["--since", "2026-10-02", "--until", "2026-10-01"], "is not after --since"),
    ],
)
def test_ledger_export_refuses_a_bad_range(
    store: App, tmp_path: Path, args: list[str], message: str
) -> None:
    output = tmp_path / "journal.csv"
    code, out = recoup("ledger", "export", "--output", str(output), *args)
    assert code == 3
    assert message in out
    assert not output.exists()
