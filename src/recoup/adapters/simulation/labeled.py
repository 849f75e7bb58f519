"""A labeled month: realistic clean traffic from many sources, with known exceptions injected
and labeled, to measure what the detectors find (precision and recall per finding type).

Clean traffic (shop orders paid by card, shipped within two days and paid out to the bank;
receivable invoices paid before they are due; suppliers paid by SEPA transfer) is built so that
no detector in ``docs/detection-spec`` should fire on it: every expected counterpart is in the
data, no amount repeats for a customer or supplier inside a duplicate window, every IBAN and VAT
number passes its check digits and no name is close to a sanctioned one. On top of it, for each
finding type, ``per_type`` independent scenarios are injected, each with fresh entities, and
each labeled with the (type, entity) the detectors must report; a scenario that by nature also
produces another type (every failed attempt of an exhausted retry is a failed payment) labels
that too.

Everything follows from the spec: no global random state, no wall clock, no ``uuid4``; the same
spec gives the same bytes. ``as_of`` is when expected-but-missing timers are evaluated: a week
after the month, so every injected missing payment, stalled order or late payout is due.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from recoup.adapters.simulation import labeled_inject_bank as bank
from recoup.adapters.simulation import labeled_inject_disputes as disputes
from recoup.adapters.simulation import labeled_inject_money as money
from recoup.adapters.simulation import labeled_inject_orders as orders
from recoup.adapters.simulation import labeled_inject_pay as pay
from recoup.adapters.simulation.labeled_base import EXTERNAL_ID_PREFIX, Gen, Label
from recoup.adapters.simulation.labeled_clean import clean_traffic
from recoup.domain.detection.taxonomy import TAXONOMY

MIN_DAYS = 8
"""The longest injected story (an authorisation that expires after up to seven days) must fit."""

Scenario = Callable[[Gen, int], None]

SCENARIOS: dict[str, Scenario] = {
    "payment_failed": pay.payment_failed,
    "capture_failed": pay.capture_failed,
    "retry_exhausted": pay.retry_exhausted,
    "duplicate_charge": pay.duplicate_charge,
    "dispute_opened": disputes.dispute_opened,
    "inquiry_opened": disputes.inquiry_opened,
    "authorization_expired": disputes.authorization_expired,
    "refund_failed": disputes.refund_failed,
    "payout_failed": money.payout_failed,
    "amount_mismatch": money.amount_mismatch,
    "missing_payment": money.missing_payment,
    "orphan_payment": money.orphan_payment,
    "settlement_delayed": money.settlement_delayed,
    "bank_rejected": bank.bank_rejected,
    "bank_returned": bank.bank_returned,
    "unmatched_bank_line": bank.unmatched_bank_line,
    "fee_mismatch": money.fee_mismatch,
    "duplicate_invoice": bank.duplicate_invoice,
    "supplier_bank_mismatch": bank.supplier_bank_mismatch,
    "blocked_payment": bank.blocked_payment,
    "tax_validation_failed": bank.tax_validation_failed,
    "missing_remittance": bank.missing_remittance,
    "sanctions_alert": bank.sanctions_alert,
    "order_stalled": orders.order_stalled,
    "duplicate_order": orders.duplicate_order,
    "split_conflict": orders.split_conflict,
    "stock_unavailable": orders.stock_unavailable,
    "carrier_conflict": orders.carrier_conflict,
    "address_risk": orders.address_risk,
    "high_value_review": orders.high_value_review,
    "fraud_review": orders.fraud_review,
}


@dataclass(frozen=True)
class LabeledSpec:
    """What to generate. Volumes are per day; ``per_type`` scenarios of each finding type are
    injected when ``inject``; ``sanctioned_names`` are the names sanctions scenarios use (none:
    that type is not injected) and that clean names keep away from."""

    seed: int = 2026
    start: datetime = datetime(2026, 10, 1, tzinfo=UTC)
    days: int = 31
    orders_per_day: int = 150
    receivable_invoices_per_day: int = 8
    receivable_clients: int = 40
    suppliers: int = 25
    supplier_invoices_per_day: int = 10
    inject: bool = True
    per_type: int = 12
    sanctioned_names: tuple[str, ...] = ()
    as_of_days: int = 7
    """Days after the end of the month at which timers are evaluated."""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("LabeledSpec.start must be timezone-aware")
        if self.days < MIN_DAYS:
            raise ValueError(f"LabeledSpec.days must be at least {MIN_DAYS}")
        volumes = (
            self.orders_per_day,
            self.receivable_invoices_per_day,
            self.per_type,
            self.supplier_invoices_per_day,
        )
        if min(volumes) < 0:
            raise ValueError("LabeledSpec volumes must not be negative")
        if self.receivable_clients < 1 or self.suppliers < 1:
            raise ValueError("LabeledSpec needs at least one receivable client and supplier")
        if self.as_of_days < 5:
            raise ValueError("LabeledSpec.as_of_days must be at least 5 (timers must be due)")

    @property
    def as_of(self) -> datetime:
        return (self.start + timedelta(days=self.days + self.as_of_days)).astimezone(UTC)


@dataclass
class LabeledMonth:
    lines: list[bytes]
    labels: list[Label]
    as_of: datetime
    counts: dict[str, int] = field(default_factory=dict)
    """Events per type."""

    def label_counts(self) -> Counter[str]:
        return Counter(label.type for label in self.labels)


def injected_types(spec: LabeledSpec) -> list[str]:
    """The finding types ``spec`` injects, in taxonomy order."""
    if not spec.inject or spec.per_type == 0:
        return []
    return [t for t in TAXONOMY if t != "sanctions_alert" or spec.sanctioned_names]


def labeled_month(spec: LabeledSpec) -> LabeledMonth:
    gen = Gen(seed=spec.seed, start=spec.start, days=spec.days, sanctioned=spec.sanctioned_names)
    clean_traffic(gen, spec)
    for type_ in injected_types(spec):
        scenario = SCENARIOS[type_]
        for n in range(spec.per_type):
            scenario(gen, n)
    gen.rows.sort(key=lambda row: (row[0], row[1]))
    lines = list(_encode(gen))
    labels = sorted(set(gen.labels), key=lambda x: (x.type, x.entity_kind, x.entity_key, x.note))
    counts = Counter(row[3] for row in gen.rows)
    return LabeledMonth(lines, _first_note(labels), spec.as_of, dict(sorted(counts.items())))


def _first_note(labels: list[Label]) -> list[Label]:
    """One label per (type, entity): a scenario may label an entity twice (two notes)."""
    seen: set[tuple[str, str, str]] = set()
    out: list[Label] = []
    for label in labels:
        key = (label.type, label.entity_kind, label.entity_key)
        if key not in seen:
            seen.add(key)
            out.append(label)
    return out


def _encode(gen: Gen) -> Iterator[bytes]:
    encode = msgspec.json.Encoder().encode
    counters = dict.fromkeys(EXTERNAL_ID_PREFIX, 0)
    for at, _, source, type_, body in gen.rows:
        counters[source] += 1
        yield encode(
            {
                "source": source,
                "external_id": f"{EXTERNAL_ID_PREFIX[source]}{counters[source]:08d}",
                "type": type_,
                "occurred_at": gen.iso(at),
                **body,
            }
        )


def labels_csv(labels: list[Label]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["type", "entity_kind", "entity_key", "note"])
    for label in labels:
        writer.writerow([label.type, label.entity_kind, label.entity_key, label.note])
    return out.getvalue()


def read_labels(path: Path) -> list[Label]:
    with path.open(newline="", encoding="utf-8") as f:
        return [
            Label(r["type"], r["entity_kind"], r["entity_key"], r["note"])
            for r in csv.DictReader(f)
        ]


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_labeled_month(out_dir: Path, spec: LabeledSpec) -> LabeledMonth:
    """Write ``events.jsonl``, ``labels.csv`` and ``spec.json`` into ``out_dir`` (created if
    needed); each file is replaced whole, so readers never see a half-written one."""
    month = labeled_month(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(out_dir / "events.jsonl", b"".join(line + b"\n" for line in month.lines))
    _write_atomic(out_dir / "labels.csv", labels_csv(month.labels).encode("utf-8"))
    meta = {
        "seed": spec.seed,
        "start": _iso(spec.start),
        "days": spec.days,
        "as_of": _iso(month.as_of),
        "inject": spec.inject,
        "per_type": spec.per_type,
        "counts": {
            "events": len(month.lines),
            "labels": len(month.labels),
            "events_by_type": month.counts,
            "labels_by_type": dict(sorted(month.label_counts().items())),
        },
    }
    _write_atomic(out_dir / "spec.json", (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    return month


__all__ = [
    "Label",
    "LabeledMonth",
    "LabeledSpec",
    "labeled_month",
    "labels_csv",
    "read_labels",
    "write_labeled_month",
]
