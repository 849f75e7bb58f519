"""Reconciliation from the store: a synthetic dataset ingested as canonical events, then one
`run_reconcile` (read the open items, match, persist pairs, breaks and their cases), timed.

    .venv/bin/python bench/reconcile_store.py                      # 100,000 payments, SQLite
    .venv/bin/python bench/reconcile_store.py --rows 20000 --backends sqlite,postgresql
    .venv/bin/python bench/reconcile_store.py --rows 1000000 --ingested /tmp/recon-1m.db

The target is "store to persisted breaks <= 20 s" at 1,000,000 rows a side; loading that
many events through the ingest pipeline takes minutes on this machine, so the default is smaller
and the figure is reported with its size; ``--ingested FILE`` ingests once into a SQLite file
and times each later run on a copy of it. Fees and adjustments have no canonical event type, so
payouts whose components include them match through the payout record instead.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from recoup.adapters.clock import SystemClock
from recoup.adapters.reconcile.port import DuckDbEngine
from recoup.adapters.reconcile.rules_file import default_rules
from recoup.adapters.reconcile.synthetic import SyntheticSpec, generate
from recoup.bootstrap import App, bootstrap
from recoup.services.ingest import RawRecord, ingest_records
from recoup.services.reconcile import ReconcileReport, run_reconcile
from recoup.settings import DatabaseSettings, Settings
from scratch import scratch_store

LEFT_EVENT = {"charge": "payment.succeeded", "refund": "refund.succeeded",
              "payout": "payout.paid", "invoice": "invoice.finalized"}  # fmt: skip


def _money(value: Decimal) -> str:
    return f"{abs(value):.2f}"


def records(rows: int, seed: int) -> list[bytes]:
    data = generate(SyntheticSpec(payments=rows, seed=seed))
    out: list[bytes] = []
    for row in data.left.to_pylist():
        kind = row["kind"]
        if kind not in LEFT_EVENT or row["currency"] is None:
            continue
        refs = {k: v for k, v in (("payout", row["payout_ref"]), ("payment", row["payment_ref"]),
                                  ("end_to_end", row["end_to_end"])) if v}  # fmt: skip
        attributes = {"reference": row["reference"]} if row["reference"] else {}
        out.append(_line("psp", row["id"], LEFT_EVENT[kind], row, refs, attributes))
    for row in data.right.to_pylist():
        refs = {k: v for k, v in (("payout", row["payout_ref"]), ("end_to_end", row["end_to_end"]),
                                  ("bank_transaction", row["id"])) if v}  # fmt: skip
        attributes = {"remittance": row["reference"]} if row["reference"] else {}
        line = _line("bank:DE00", row["id"], "bank.statement_line", row, refs, attributes)
        record = json.loads(line)
        record["direction"] = "credit" if row["amount"] >= 0 else "debit"
        out.append(json.dumps(record).encode() + b"\n")
    return out


def _line(source: str, ext: str, type_: str, row: dict[str, Any], refs: dict[str, str],
          attributes: dict[str, str]) -> bytes:  # fmt: skip
    record = {"source": source, "external_id": ext, "type": type_,
              "occurred_at": f"{row['date'].isoformat()}T12:00:00+00:00",
              "amount": _money(row["amount"]), "currency": row["currency"], "refs": refs,
              "attributes": attributes}  # fmt: skip
    return json.dumps(record).encode() + b"\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="payments in the dataset")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument(
        "--ingested", type=Path, metavar="FILE",
        help="a SQLite store of the ingested dataset, made once when absent; each run works on "
        "a copy (1,000,000 payments take minutes to ingest)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.ingested:
        from_ingested(args.ingested, args.rows, args.seed)
        return
    lines = records(args.rows, args.seed)
    print(f"{len(lines):,} events from {args.rows:,} payments")
    for backend in args.backends.split(","):
        with scratch_store(backend) as url:
            app = bootstrap(Settings(database=DatabaseSettings(url=url)), clock=SystemClock())
            loaded = _ingest(app, lines)
            seconds, report = _reconcile(app)
        print(f"{backend}: ingest {loaded:.1f} s; {_outcome(seconds, report)}")


def _ingest(app: App, lines: list[bytes]) -> float:
    """Create the schema and ingest ``lines``; the seconds ingesting took."""
    app.ensure_schema()
    started = time.perf_counter()
    raw = [RawRecord(data=line, file="bench", line=i) for i, line in enumerate(lines, 1)]
    ingest_records(raw, uow=app.uow, clock=app.clock, detectors=app.detectors, label="bench")
    return time.perf_counter() - started


def _reconcile(app: App) -> tuple[float, ReconcileReport]:
    """One timed run with the default rules; closes ``app``."""
    started = time.perf_counter()
    report = run_reconcile(uow=app.uow, clock=app.clock, engine=DuckDbEngine(),
                           rules=default_rules(), rules_digest="bench",
                           policy=app.policy)  # fmt: skip
    seconds = time.perf_counter() - started
    app.close()
    return seconds, report


def _outcome(seconds: float, report: ReconcileReport) -> str:
    breaks = sum(report.breaks_by_reason.values())
    return (f"store to persisted breaks {seconds:.1f} s ({report.left:,} expected x "
            f"{report.right:,} bank lines; {report.left_matched:,} matched, {breaks:,} breaks, "
            f"{report.cases_opened:,} cases)")  # fmt: skip


def _app(path: Path) -> App:
    return bootstrap(Settings(database=DatabaseSettings(url=f"sqlite:///{path}")),
                     clock=SystemClock())  # fmt: skip


def from_ingested(saved: Path, rows: int, seed: int) -> None:
    """Time one run on a copy of ``saved`` (SQLite), ingesting the dataset into it first when
    the file does not exist yet."""
    if not saved.exists():
        lines = records(rows, seed)
        app = _app(saved)
        loaded = _ingest(app, lines)
        app.close()
        print(f"{len(lines):,} events from {rows:,} payments ingested into {saved} in "
              f"{loaded:.1f} s")  # fmt: skip
    with tempfile.TemporaryDirectory(dir=saved.parent) as tmp:
        copy = Path(tmp) / saved.name
        for suffix in ("", "-wal"):
            if Path(f"{saved}{suffix}").exists():
                shutil.copy(f"{saved}{suffix}", f"{copy}{suffix}")
        seconds, report = _reconcile(_app(copy))
    print(f"sqlite, a copy of {saved}: {_outcome(seconds, report)}")


if __name__ == "__main__":
    main()
