"""`recoup cases snooze|wake|accept` and `recoup timers run|status` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from tests.e2e.test_cli import db as db
from tests.e2e.test_cli import recoup, write_month


def first_case(url: str) -> tuple[str, str, str | None]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT id, status, outcome FROM cases WHERE type = 'payment_failed' "
                    "ORDER BY id LIMIT 1")
        ).one()  # fmt: skip
    engine.dispose()
    return str(row[0]), row[1], row[2]


def test_snooze_wake_and_accept(db: str, tmp_path: Path) -> None:
    recoup("ingest", str(write_month(tmp_path)))
    case_id, status, _ = first_case(db)
    assert status == "new"
    prefix = case_id.replace("-", "")[:12]

    code, out = recoup("cases", "snooze", prefix, "--for", "3d", "--reason", "bank says Friday")
    assert code == 0, out
    assert "snoozed until" in out
    assert first_case(db)[1] == "snoozed"

    code, out = recoup("cases", "snooze", prefix, "--reason", "x")
    assert code == 3
    assert "exactly one of --until and --for" in out

    assert recoup("cases", "wake", prefix)[0] == 0
    assert first_case(db)[1] == "triaged"

    code, out = recoup("cases", "accept", prefix, "--until", "2099-01-01", "--reason", "known")
    assert code == 0, out
    assert first_case(db)[1:] == ("resolved", "accepted")

    code, out = recoup("cases", "accept", prefix, "--for", "1d", "--reason", "again")
    assert code == 5  # a conflict: it is no longer open
    code, out = recoup("cases", "snooze", prefix, "--for", "soon", "--reason", "x")
    assert code == 3
    assert "use a number and m, h, d or w" in out


def test_timers_run_and_status(db: str, tmp_path: Path) -> None:
    path = tmp_path / "invoices.jsonl"
    lines = [
        {"source": "erp", "external_id": f"inv-{n}", "type": "invoice.finalized",
         "occurred_at": "2026-10-01T09:00:00Z", "amount": "50.00", "currency": "EUR",
         "refs": {"invoice": f"in_{n}", "customer": "c1"},
         "attributes": {"due_date": f"2026-10-{10 + n:02d}"}}
        for n in range(3)
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert recoup("ingest", str(path))[0] == 0

    code, out = recoup("timers", "status", "--json")
    assert code == 0, out
    status = json.loads(out)
    assert status["missing_payment"]["pending"] == 3
    assert status["missing_payment"]["next_due"].startswith("2026-10-14T00:00:00")

    code, out = recoup("timers", "run", "--as-of", "2026-10-15T00:00:00Z")
    assert code == 0, out
    assert "timers due 2: met 0, fired 2" in out
    assert "findings 2: cases opened 2, attached 0" in out
    assert "missing_payment: 2" in out

    code, out = recoup("timers", "run", "--as-of", "2026-10-15T00:00:00Z", "--json")
    assert json.loads(out)["due"] == 0
    code, out = recoup("timers", "run", "--as-of", "2026-10-15")
    assert code == 0


def test_move_resolve_reopen_and_worker(db: str, tmp_path: Path) -> None:
    recoup("ingest", str(write_month(tmp_path)))
    case_id, _, _ = first_case(db)
    prefix = case_id.replace("-", "")[:12]

    code, out = recoup("cases", "move", prefix, "--to", "waiting", "--on", "customer",
                       "--reason", "asked for a new card")  # fmt: skip
    assert code == 0, out
    assert "moved to waiting" in out
    code, out = recoup("cases", "move", prefix, "--to", "new", "--reason", "x")
    assert code == 5
    assert "cannot move to new" in out
    code, out = recoup("cases", "resolve", prefix, "--code", "won", "--reason", "x")
    assert code == 3
    assert "resolution code" in out
    assert recoup("cases", "resolve", prefix, "--code", "recovered", "--reason", "paid")[0] == 0
    assert first_case(db)[1:] == ("resolved", "recovered")
    code, out = recoup("cases", "reopen", prefix, "--reason", "the payment bounced")
    assert code == 0, out
    assert "reopened (1 times so far)" in out

    # The cases were opened just now (the CLI runs on the wall clock): nothing is due yet.
    code, out = recoup("worker", "--once")
    assert code == 0, out
    assert "worker stopped after 1 rounds" in out
    code, out = recoup("cases", "list", "--status", "escalated", "--json")
    assert json.loads(out) == []
