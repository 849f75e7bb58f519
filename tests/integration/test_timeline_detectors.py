"""The timeline detectors through real ingest on SQLite and PostgreSQL: a pair (or a run of
attempts) split across two batches, the later half first, still yields exactly one finding,
and ingesting it all again adds none."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from recoup.adapters.store import tables as t
from recoup.bootstrap import App
from recoup.domain.detection.findings import finding_id
from recoup.domain.ingestion.event import event_id_for
from recoup.services.ingest import IngestReport, RawRecord, ingest_records
from tests.conftest import T0


def rec(external_id: str, type_: str, *, hours: float = 0, amount: str | None = None,
        source: str = "erp", attributes: dict[str, Any] | None = None, reason: str | None = None,
        **refs: str) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "type": type_,
        "occurred_at": (T0 + timedelta(hours=hours)).isoformat(),
        "refs": refs,
    }
    if amount is not None:
        out |= {"amount": amount, "currency": "EUR"}
    if attributes:
        out["attributes"] = attributes
    if reason is not None:
        out["reason_code"] = reason
    return out


def ingest(app: App, records: list[dict[str, Any]]) -> IngestReport:
    items = [RawRecord(msgspec.json.encode(r), "t.jsonl", n) for n, r in enumerate(records, 1)]
    return ingest_records(items, uow=app.uow, clock=app.clock, detectors=app.detectors,
                          label="t.jsonl")  # fmt: skip


def findings_of(app: App, type_: str) -> list[tuple[str, str, str, str, Decimal | None]]:
    f = t.findings.c
    query = sa.select(f.id, f.entity_kind, f.entity_key, f.trigger_event_id, f.amount).where(
        f.type == type_
    )
    with app.engine.connect() as conn:
        return [(str(a), b, c, str(d), e) for a, b, c, d, e in conn.execute(query).all()]


def eid(record: dict[str, Any]) -> str:
    return event_id_for(record["source"], record["external_id"])


FAILURES = [
    rec(
        f"f{i}",
        "payment.failed",
        source="stripe",
        hours=i,
        amount="40.00",
        reason="stripe:card_declined",
        payment="pi_1",
        charge=f"ch_{i}",
    )
    for i in range(8)
]
INVOICE = [
    rec("inv", "invoice.finalized", amount="120.00", invoice="in_1", customer="c1"),
    rec("pay", "payment.succeeded", source="stripe", hours=1, amount="100.00", payment="pi_1",
        invoice="in_1"),
    rec("inv-paid", "invoice.paid", hours=2, amount="100.00", invoice="in_1"),
]  # fmt: skip
TRANSFER = [
    rec("tx", "bank.transfer_initiated", source="bank:main", amount="1000.00",
        end_to_end="E2E-1"),
    rec("line", "bank.statement_line", source="bank:main", hours=24, amount="998.50",
        end_to_end="E2E-1", bank_transaction="bt_1"),
]  # fmt: skip
PAYOUT = [
    rec("po", "payout.paid", source="stripe", amount="500.00", payout="po_1"),
    rec("po-line", "bank.statement_line", source="bank:main", hours=24, amount="495.00",
        payout="po_1", bank_transaction="bt_2"),
]  # fmt: skip
SPLIT = [
    rec("o", "order.created", source="shop", amount="90.00", order="o_1",
        attributes={"item_count": 3}),
    rec("ship-1", "fulfillment.created", source="shop", hours=1, order="o_1",
        attributes={"item_count": 2}),
    rec("ship-2", "fulfillment.created", source="shop", hours=2, order="o_1",
        attributes={"item_count": 2}),
]  # fmt: skip
CARRIER = [
    rec("o-cancel", "order.cancelled", source="shop", amount="90.00", order="o_1"),
    rec("trk", "fulfillment.updated", source="carrier", hours=5, order="o_1",
        attributes={"shipment_status": "in_transit"}),
]  # fmt: skip
SUPPLIER = [
    rec("pay-1", "supplier.payment_initiated", amount="700.00", supplier="S-1",
        attributes={"iban": "DE89370400440532013000"}),
    rec("pay-2", "supplier.payment_initiated", hours=24, amount="700.00", supplier="S-1",
        attributes={"iban": "GB82WEST12345698765432"}),
]  # fmt: skip

# (records, split point, type, entity, trigger record, exposure)
CASES = {
    "retry_exhausted": (FAILURES, 4, "retry_exhausted", ("payment", "pi_1"), FAILURES[7],
                        Decimal("40.00")),
    "amount_mismatch": (INVOICE, 1, "amount_mismatch", ("invoice", "in_1"), INVOICE[2],
                        Decimal("20.00")),
    "fee_mismatch_e2e": (TRANSFER, 1, "fee_mismatch", ("end_to_end", "E2E-1"), TRANSFER[1],
                         Decimal("1.50")),
    "fee_mismatch_payout": (PAYOUT, 1, "fee_mismatch", ("payout", "po_1"), PAYOUT[1],
                            Decimal("5.00")),
    "split_conflict": (SPLIT, 2, "split_conflict", ("order", "o_1"), SPLIT[2], Decimal("90.00")),
    "carrier_conflict": (CARRIER, 1, "carrier_conflict", ("order", "o_1"), CARRIER[1],
                         Decimal("90.00")),
    "supplier_bank_mismatch": (SUPPLIER, 1, "supplier_bank_mismatch", ("supplier", "S-1"),
                               SUPPLIER[1], Decimal("700.00")),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_pair_split_across_batches_in_reverse_order_yields_one_finding(
    app: App, name: str
) -> None:
    records, split, type_, entity, trigger, exposure = CASES[name]
    ingest(app, records[split:])
    ingest(app, records[:split])

    found = findings_of(app, type_)

    assert len(found) == 1, found
    _, kind, key, trigger_id, amount = found[0]
    assert (kind, key) == entity
    assert trigger_id == eid(trigger)
    assert amount == exposure
    # Delivered again, whole: nothing new (the events are duplicates, the finding kept once).
    report = ingest(app, records)
    assert report.findings == 0
    assert len(findings_of(app, type_)) == 1


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_finding_id_does_not_depend_on_the_batching(app: App, name: str) -> None:
    records, _, type_, _, trigger, _ = CASES[name]
    ingest(app, records)
    (found,) = findings_of(app, type_)
    if type_ == "supplier_bank_mismatch":
        assert found[0] == finding_id("supplier_bank_mismatch:changed", eid(trigger))
    elif type_ != "amount_mismatch":
        assert found[0] == finding_id(type_, eid(trigger))


def test_amount_mismatch_id_is_the_same_in_one_batch_or_two(app: App) -> None:
    ingest(app, INVOICE[2:])
    ingest(app, INVOICE[:2])
    ((first, *_),) = findings_of(app, "amount_mismatch")
    ingest(app, INVOICE)
    ((again, *_),) = findings_of(app, "amount_mismatch")
    assert first == again


def test_clean_pairs_yield_nothing(app: App) -> None:
    ingest(app, [
        rec("inv", "invoice.finalized", amount="120.00", invoice="in_9"),
        rec("pay", "payment.succeeded", source="stripe", hours=1, amount="120.00",
            payment="pi_9", invoice="in_9"),
        rec("tx", "bank.transfer_initiated", source="bank:main", amount="1000.00",
            end_to_end="E2E-9"),
        rec("o", "order.created", source="shop", amount="90.00", order="o_9",
            attributes={"item_count": 3}),
        rec("ship-1", "fulfillment.created", source="shop", hours=1, order="o_9",
            attributes={"item_count": 3}),
        rec("trk", "fulfillment.updated", source="carrier", hours=5, order="o_9",
            attributes={"shipment_status": "delivered"}),
        rec("pay-1", "supplier.payment_initiated", amount="700.00", supplier="S-9",
            attributes={"iban": "DE89370400440532013000"}),
    ])  # fmt: skip
    ingest(app, [
        rec("inv-paid", "invoice.paid", hours=2, amount="120.00", invoice="in_9"),
        rec("line", "bank.statement_line", source="bank:main", hours=24, amount="1000.00",
            end_to_end="E2E-9", bank_transaction="bt_9"),
        rec("pay-2", "supplier.payment_initiated", hours=24, amount="700.00", supplier="S-9",
            attributes={"iban": "DE89 3704 0044 0532 0130 00"}),
    ])  # fmt: skip
    f = t.findings.c
    with app.engine.connect() as conn:
        types = set(conn.execute(sa.select(f.type)).scalars())
    assert types.isdisjoint(
        {"retry_exhausted", "amount_mismatch", "fee_mismatch", "split_conflict",
         "carrier_conflict", "supplier_bank_mismatch"}
    )  # fmt: skip
