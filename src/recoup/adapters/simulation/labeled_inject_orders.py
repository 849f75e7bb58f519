"""Injected order exceptions: stalled, duplicated, over-shipped, out of stock, shipped after
cancellation, risky address, high value and fraud signals. Each uses a fresh customer and order."""

from __future__ import annotations

from typing import Any

from recoup.adapters.simulation.demo_rates import DAY, HOUR, MINUTE
from recoup.adapters.simulation.labeled_base import STRIPE, Gen, Order
from recoup.adapters.simulation.labeled_tools import money


def _paid_order(g: Gen, at: int, order: Order, **created: Any) -> int:
    g.order_created(at, order, **created)
    paid = at + g.randint(30, 5 * MINUTE)
    g.payment_succeeded(paid, order)
    g.order_paid(paid + g.randint(5, 60), order)
    return paid + 60


def order_stalled(g: Gen, i: int) -> None:
    at = g.start_for(HOUR)
    order = g.new_order(at)
    _paid_order(g, at, order)
    g.label("order_stalled", "order", order.ref, "paid, never shipped")


def duplicate_order(g: Gen, i: int) -> None:
    at = g.start_for(3 * DAY)
    order = g.new_order(at)
    again = at + g.randint(20, 8 * MINUTE)
    second = Order(**{**order.__dict__, "ref": f"ord_{g.order_base + g.next('order')}"})
    g.order_created(again, second)
    g.order_event(
        again + g.randint(10 * MINUTE, HOUR),
        second,
        "order.cancelled",
        status="cancelled",
        reason_message="duplicate checkout",
    )
    g.clean_order(at, order)
    g.label("duplicate_order", "order", second.ref, f"checkout submitted twice ({order.ref})")


def split_conflict(g: Gen, i: int) -> None:
    at = g.start_for(3 * DAY)
    order = g.new_order(at)
    order.items = max(order.items, 2)
    paid = _paid_order(g, at, order)
    counts = (order.items - 1, 2) if i % 2 else (order.items, 1)
    g.fulfil(paid + g.randint(2 * HOUR, 20 * HOUR), order, counts=counts)
    g.label("split_conflict", "order", order.ref, f"{order.items} items, shipped {sum(counts)}")


def stock_unavailable(g: Gen, i: int) -> None:
    at = g.start_for(3 * DAY)
    order = g.new_order(at)
    if i % 2:
        attrs: dict[str, Any] = {"backordered_quantity": g.randint(1, 3)}
    else:
        attrs = {"inventory_quantity": -g.randint(1, 5)}
    paid = _paid_order(g, at, order, **attrs)
    g.fulfil(paid + g.randint(20 * HOUR, 40 * HOUR), order)
    g.label("stock_unavailable", "order", order.ref, f"{attrs}, restocked and shipped")


def carrier_conflict(g: Gen, i: int) -> None:
    at = g.start_for(3 * DAY)
    order = g.new_order(at)
    paid = _paid_order(g, at, order)
    shipment = f"ful_{order.ref[4:]}_1"
    shipped = paid + g.randint(2 * HOUR, 10 * HOUR)
    cancelled = shipped + g.randint(10 * MINUTE, HOUR) if i % 2 else paid + g.randint(MINUTE, HOUR)
    g.order_event(
        shipped,
        order,
        "fulfillment.created",
        status="success",
        attributes={
            "fulfillment_id": shipment,
            "item_count": order.items,
            "carrier": "DHL",
            "shipment_status": "label_printed",
        },
    )
    g.order_event(
        cancelled,
        order,
        "order.cancelled",
        status="cancelled",
        reason_message="customer changed their mind",
    )
    status = ("in_transit", "out_for_delivery", "delivered")[i % 3]
    g.order_event(
        max(shipped, cancelled) + g.randint(6 * HOUR, 20 * HOUR),
        order,
        "fulfillment.updated",
        attributes={"fulfillment_id": shipment, "shipment_status": status},
    )
    g.label("carrier_conflict", "order", order.ref, f"cancelled, carrier says {status}")


def address_risk(g: Gen, i: int) -> None:
    at = g.start_for(3 * DAY)
    order = g.new_order(at)
    attrs = (
        {"avs_result": "N"},
        {"address_status": "undeliverable"},
        {"avs_result": "no_match"},
        {"address_status": "invalid"},
    )[i % 4]
    g.clean_order(at, order, **attrs)
    g.label("address_risk", "order", order.ref, str(attrs))


def high_value_review(g: Gen, i: int) -> None:
    at = g.start_for(3 * DAY)
    order = g.new_order(at, cents=g.randint(500_000, 1_500_000))
    g.clean_order(at, order)
    g.label("high_value_review", "order", order.ref, f"{money(order.cents)} {order.currency}")


def fraud_review(g: Gen, i: int) -> None:
    at = g.start_for(4 * DAY)
    order = g.new_order(at, network="visa")
    if i % 3 == 0:
        shipped = g.clean_order(at, order)
        g.add(
            shipped + g.randint(HOUR, 2 * DAY),
            STRIPE,
            "dispute.early_fraud_warning",
            {
                "refs": {"charge": order.charge, "payment": order.payment},
                "reason_code": "stripe:unauthorized_use_of_card",
                "status": "open",
                "attributes": {"actionable": True, "fraud_type": "unauthorized_use_of_card"},
            },
        )
        g.label("fraud_review", "charge", order.charge, "early fraud warning")
        return
    attrs = (
        {"risk_level": "highest", "risk_score": g.randint(80, 99)}
        if i % 3 == 1
        else {"risk_level": "normal", "risk_recommendation": "cancel"}
    )
    g.clean_order(at, order, **attrs)
    g.label("fraud_review", "order", order.ref, str(attrs))
