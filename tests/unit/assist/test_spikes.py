"""The spike test: exact binomial tail, counting per window, one alert per crossing, a planted
concentration found with its dimension on generated traffic, none on clean traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scipy.stats import binom

from recoup.adapters.assist.traffic import PLANTS, failures_of, spike_traffic
from recoup.domain.assist.spikes import (
    Failure,
    SpikeRule,
    advance,
    alert_finding,
    binomial_upper_tail,
    cells,
    failure_dimensions,
    judge_cells,
)

NOW = datetime(2026, 10, 20, 12, tzinfo=UTC)
RULE = SpikeRule()


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [(0, 10, 0.3), (3, 10, 0.3), (10, 10, 0.3), (25, 45, 0.0018), (40, 300, 0.1), (7, 5, 0.5)],
)
def test_the_binomial_tail_is_exact(k: int, n: int, p: float) -> None:
    expected = binom.sf(k - 1, n, p) if k <= n else 0.0

    assert binomial_upper_tail(k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def failure(hours_ago: float, **dims: str) -> Failure:
    return Failure(
        "bank_rejected",
        dims.pop("reason", "iso:AC01"),
        NOW - timedelta(hours=hours_ago),
        f"e{hours_ago}-{sorted(dims.items())}",
        {"processor": "bank", **dims},
    )


def test_cells_count_now_and_before_per_kind_and_value() -> None:
    found = cells(
        [
            failure(1, batch="b1"),
            failure(2, batch="b1"),
            failure(30, batch="b1"),
            failure(40, batch="b2"),
            failure(24 * 20, batch="b1"),
        ],
        NOW,
        RULE,
    )

    b1 = next(
        c for c in found if (c.kind, c.dimension, c.value) == ("bank_rejected", "batch", "b1")
    )
    assert (b1.count, b1.total, b1.base_count, b1.base_total) == (2, 2, 1, 2)
    assert b1.rate == 1.0
    assert b1.baseline == pytest.approx(1.5 / 3)
    # b2 failed only before the window: not a cell now; the 20-day-old failure is outside both.
    assert not any(c.value == "b2" for c in found)
    assert any(c.kind == "bank_rejected:iso:AC01" and c.dimension == "batch" for c in found)


def test_dimensions_come_from_the_source_the_reason_and_the_attributes() -> None:
    dims = failure_dimensions(
        "adyen:eu",
        "stripe:do_not_honor",
        {"card_bin": "41111122", "product": "x", "note": {"a": 1}},
    )

    assert dims == {
        "processor": "adyen",
        "reason_code": "stripe:do_not_honor",
        "card_bin": "41111122",
        "card_range": "411111",
        "product": "x",
    }


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_planted_spike_gives_one_alert_with_the_right_dimension(plant: str, seed: int) -> None:
    judged = judge_cells(
        cells(failures_of(spike_traffic(NOW, plant=plant, seed=seed)), NOW, RULE), RULE
    )

    changed, alerts = advance({}, judged, NOW, RULE)

    ((spike, number),) = alerts
    want = PLANTS[plant]
    assert (spike.cell.kind, spike.cell.dimension, spike.cell.value) == (
        want.kind,
        want.dimension,
        want.value,
    )
    assert number == 1
    assert all(c.is_crossed for c in changed)
    assert {c.key for c in changed} == {s.cell.key for s in judged if s.is_spike}


@pytest.mark.parametrize("seed", range(8))
def test_clean_traffic_raises_nothing(seed: int) -> None:
    judged = judge_cells(cells(failures_of(spike_traffic(NOW, seed=seed)), NOW, RULE), RULE)

    changed, alerts = advance({}, judged, NOW, RULE)

    assert judged
    assert not any(s.is_spike for s in judged)
    assert (changed, alerts) == ([], [])


def test_one_alert_per_crossing_then_silence_until_it_clears() -> None:
    traffic = failures_of(spike_traffic(NOW, plant="product", seed=3))

    def scan(at: datetime, states: dict) -> list:  # type: ignore[type-arg]
        judged = judge_cells(cells(traffic, at, RULE), RULE)
        changed, alerts = advance(states, judged, at, RULE)
        states.update({c.key: c for c in changed})
        return alerts

    states: dict = {}  # type: ignore[type-arg]
    first = scan(NOW, states)
    second = scan(NOW + timedelta(hours=1), states)
    cleared = scan(NOW + timedelta(days=3), states)  # the spike left the current window

    assert len(first) == 1
    assert second == []
    assert cleared == []
    key = first[0][0].cell.key
    assert states[key].is_crossed is False
    assert states[key].crossings == 1
    # The same concentration again is a new crossing: alerted again, numbered 2.
    again = judge_cells(cells(traffic, NOW, RULE), RULE)
    _, alerts = advance(states, again, NOW + timedelta(days=4), RULE)
    assert [(s.cell.key, n) for s, n in alerts] == [(key, 2)]


def test_the_alert_finding_explains_and_is_stable() -> None:
    judged = judge_cells(cells(failures_of(spike_traffic(NOW, plant="batch")), NOW, RULE), RULE)
    _, ((spike, number),) = advance({}, judged, NOW, RULE)

    finding = alert_finding(spike, number, RULE, NOW)

    assert finding.type == "pattern_alert"
    assert finding.entity_kind == "pattern"
    assert finding.entity_key == "bank_rejected|supplier_batch=2026-B7"
    assert finding.id == alert_finding(spike, number, RULE, NOW).id
    assert finding.id != alert_finding(spike, number + 1, RULE, NOW).id
    assert finding.summary.startswith(
        "bank_rejected concentrates on supplier_batch=2026-B7: "
        "56% of the last 24 h (25 of 45) against a baseline of "
        "0% over the 14 days before (0 of 280)"
    )
    assert finding.trigger_event_id == finding.evidence_event_ids[0]
    assert len(finding.evidence_event_ids) == 20
    assert finding.detail["crossing"] == 1
    assert finding.detail["baseline_days"] == 14


def test_a_value_without_enough_failures_never_alerts() -> None:
    few = [failure(h, batch="new") for h in range(1, 9)]  # 8 < min_count 10
    base = [failure(30 + h, batch=f"b{h % 3}") for h in range(60)]

    judged = judge_cells(cells([*few, *base], NOW, RULE), RULE)

    assert not any(s.is_spike for s in judged)
