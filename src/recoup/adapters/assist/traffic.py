"""Generated failure traffic for the spike scan: clean, or with one planted concentration.

Fifteen days of failures, spread evenly over their dimensions: bank rejects of supplier
transfers (onboarding batch, region, ISO reason), card declines (processor, card range, decline
code) and disputes (product, network reason). A planted scenario adds, in the last day only,
failures concentrated on one value of one dimension:

- ``batch``: bank rejects for suppliers of one new onboarding batch (mixed ISO reasons, as a
  badly imported batch gives);
- ``processor``: one decline code surging on one processor;
- ``product``: disputes on one product.

The records are canonical events (``docs/event-schema.md``), so they go through ingest and the
real detectors; ``failures_of`` turns them straight into the scan's input for benches.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from recoup.domain.assist.spikes import Failure, failure_dimensions

DAYS = 15
BATCHES = ("2026-B1", "2026-B2", "2026-B3", "2026-B4", "2026-B5", "2026-B6")
REGIONS = ("dach", "benelux", "nordics")
BANK_REASONS = ("iso:AC01", "iso:AC04", "iso:AM04", "iso:BE01", "iso:MS03")
PROCESSORS = ("stripe", "adyen", "checkout")
CARD_BINS = ("411111", "424242", "510510", "555555", "378282", "601111")
DECLINES = ("insufficient_funds", "do_not_honor", "expired_card", "card_declined")
PRODUCTS = ("basic-plan", "pro-plan", "hoodie", "sneakers", "gift-card")
DISPUTE_REASONS = ("visa:13.1", "visa:10.4", "mc:4853", "visa:13.3")
FINDING_TYPES = {
    "bank.transfer_rejected": "bank_rejected",
    "payment.failed": "payment_failed",
    "dispute.created": "dispute_opened",
}


@dataclass(frozen=True, slots=True)
class Planted:
    """What a planted scenario must be alerted as."""

    kind: str
    dimension: str
    value: str


PLANTS = {
    "batch": Planted("bank_rejected", "supplier_batch", "2026-B7"),
    "processor": Planted("payment_failed:stripe:do_not_honor", "processor", "adyen"),
    "product": Planted("dispute_opened", "product", "sneakers"),
}


def _record(kind: str, n: int, at: datetime, rng: random.Random, **over: Any) -> dict[str, Any]:
    amount = str(Decimal(rng.randint(1_000, 90_000)) / 100)
    if kind == "bank":
        rec = {
            "source": "bank:ops",
            "type": "bank.transfer_rejected",
            "reason_code": over.get("reason", rng.choice(BANK_REASONS)),
            "refs": {"end_to_end": f"e2e-{n}", "supplier": f"sup-{n % 400}"},
            "attributes": {
                "supplier_batch": over.get("batch", rng.choice(BATCHES)),
                "region": over.get("region", rng.choice(REGIONS)),
            },
        }
    elif kind == "card":
        processor = over.get("processor", rng.choice(PROCESSORS))
        rec = {
            "source": processor,
            "type": "payment.failed",
            "reason_code": f"stripe:{over.get('decline', rng.choice(DECLINES))}",
            "refs": {"payment": f"pay-{n}", "customer": f"cus-{n % 900}"},
            "attributes": {"card_bin": over.get("bin", rng.choice(CARD_BINS))},
        }
    else:
        rec = {
            "source": "stripe",
            "type": "dispute.created",
            "reason_code": over.get("reason", rng.choice(DISPUTE_REASONS)),
            "refs": {"dispute": f"dp-{n}", "charge": f"ch-{n}"},
            "attributes": {"product": over.get("product", rng.choice(PRODUCTS))},
        }
    return {
        **rec,
        "external_id": f"spike-{kind}-{n}",
        "occurred_at": at.isoformat(),
        "amount": amount,
        "currency": "EUR",
    }


def spike_traffic(
    now: datetime,
    *,
    plant: str | None = None,
    per_day: int = 20,
    planted: int = 25,
    seed: int = 11,
    kinds: tuple[str, ...] = ("bank", "card", "dispute"),
) -> list[dict[str, Any]]:
    """Failure records over the ``DAYS`` days before ``now``; with ``plant`` (a key of
    ``PLANTS``), ``planted`` more in the last day, concentrated as the scenario says."""
    if plant is not None and plant not in PLANTS:
        raise ValueError(f"unknown scenario {plant!r}; use one of {', '.join(PLANTS)}")
    rng = random.Random(seed)
    start = now - timedelta(days=DAYS)
    out = []
    n = 0
    for day in range(DAYS):
        for kind in kinds:
            for _ in range(per_day):
                at = start + timedelta(days=day, seconds=rng.randrange(1, 86_399))
                out.append(_record(kind, n, at, rng))
                n += 1
    extra: dict[str, tuple[str, dict[str, Any]]] = {
        "batch": ("bank", {"batch": "2026-B7", "region": "dach"}),
        "processor": ("card", {"processor": "adyen", "decline": "do_not_honor"}),
        "product": ("dispute", {"product": "sneakers"}),
    }
    if plant is not None:
        kind, over = extra[plant]
        for _ in range(planted):
            at = now - timedelta(seconds=rng.randrange(60, 86_000))
            out.append(_record(kind, n, at, rng, **over))
            n += 1
    out.sort(key=lambda r: (r["occurred_at"], r["external_id"]))
    return out


def failures_of(records: list[dict[str, Any]]) -> list[Failure]:
    """The scan's input straight from the records (the detectors would make the same)."""
    out = []
    for rec in records:
        code = rec.get("reason_code")
        out.append(
            Failure(
                FINDING_TYPES[rec["type"]],
                code,
                datetime.fromisoformat(rec["occurred_at"]),
                rec["external_id"],
                failure_dimensions(rec["source"], code, rec.get("attributes")),
            )
        )
    return out


__all__ = ["PLANTS", "Planted", "failures_of", "spike_traffic"]
