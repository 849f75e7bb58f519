"""Reconciliation from the command line: a dry run stores nothing, a run reports the match rate,
breaks and money unreconciled, a second run finds nothing new, exports are written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.e2e.test_cli import db as db
from tests.e2e.test_cli import recoup

LINES = [
    {"source": "stripe", "external_id": "po_a", "type": "payout.paid",
     "occurred_at": "2026-10-01T08:00:00+00:00", "amount": "500.00", "currency": "EUR",
     "refs": {"payout": "po_a"}},
    {"source": "stripe", "external_id": "po_b", "type": "payout.paid",
     "occurred_at": "2026-10-01T08:00:00+00:00", "amount": "75.00", "currency": "EUR",
     "refs": {"payout": "po_b"}},
    {"source": "bank:DE00", "external_id": "bl_a", "type": "bank.statement_line",
     "occurred_at": "2026-10-02T08:00:00+00:00", "amount": "500.00", "currency": "EUR",
     "direction": "credit", "refs": {"payout": "po_a", "bank_transaction": "bl_a"}},
]  # fmt: skip


def test_run_status_export(db: str, tmp_path: Path) -> None:
    month = tmp_path / "recon.jsonl"
    month.write_text("".join(json.dumps(line) + "\n" for line in LINES))
    assert recoup("ingest", str(month))[0] == 0

    code, out = recoup("reconcile", "run", "--dry-run")
    assert code == 0, out
    assert "dry run: nothing stored" in out
    assert "pairs: none" in recoup("reconcile", "status")[1]

    code, out = recoup("reconcile", "run")
    assert code == 0, out
    assert "match rate 50.0%: 1 of 2 expected items automatic" in out
    assert "money unreconciled: 75.00 EUR" in out
    code, out = recoup("reconcile", "status")
    assert "pairs: auto 1" in out
    assert "missing_counterpart 1" in out

    code, out = recoup("reconcile", "run")
    assert "1 open expected items, 0 open bank lines" in out

    code, out = recoup("reconcile", "export", "--output", str(tmp_path / "out"))
    assert code == 0, out
    matched = list(csv.DictReader((tmp_path / "out" / "matched.csv").read_text().splitlines()))
    unmatched = list(csv.DictReader((tmp_path / "out" / "unmatched.csv").read_text().splitlines()))
    assert [m["status"] for m in matched] == ["auto"]
    assert [u["reason"] for u in unmatched] == ["missing_counterpart"]
    assert recoup("reconcile", "export", "--output", str(tmp_path), "--format", "xlsx")[0] == 3
    assert recoup("reconcile", "run", "--rules", str(tmp_path / "missing.toml"))[0] == 3
