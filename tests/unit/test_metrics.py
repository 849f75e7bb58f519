"""The metric summaries: bucket math, quantiles from buckets, and a case's contribution.

The property that matters: after any sequence of case changes, adding each change's
``contribution(after) - contribution(before)`` gives exactly the summary a rebuild computes
from the final cases. The store test (tests/integration/notify/test_metric_summaries.py) checks
the same against the database.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoup.domain import metrics as m
from recoup.domain.cases.case import Case, CaseStatus
from recoup.domain.detection.taxonomy import Tier
from recoup.domain.ids import derived_id
from recoup.services.metrics import compute_summaries, metrics_from
from tests.conftest import T0

# -- buckets and quantiles -------------------------------------------------------------------


@given(st.floats(min_value=0, max_value=1e11, allow_nan=False))
def test_every_duration_falls_inside_its_bucket(seconds: float) -> None:
    index = m.bucket_of(seconds)
    low, high = m.bucket_bounds(index)
    assert low <= seconds < high


def test_bucket_edges_are_powers_of_the_fourth_root_of_two() -> None:
    assert m.bucket_of(0) == 0
    assert m.bucket_of(0.999) == 0
    assert m.bucket_of(1) == 1
    assert m.bucket_of(2) == 5  # 2 ** (4/4) opens bucket 5
    assert m.bucket_bounds(5) == (2.0, 2**1.25)
    assert m.bucket_of(2**20) == 81
    assert m.bucket_of(2**20 - 0.001) == 80
    assert m.bucket_of(1e300) == m.MAX_BUCKET


@given(st.lists(st.floats(min_value=0, max_value=1e9, allow_nan=False), min_size=1,
                max_size=300), st.sampled_from([0.5, 0.9, 0.99, 1.0]))  # fmt: skip
def test_quantile_from_buckets_is_within_the_true_quantiles_bucket(
    durations: list[float], q: float
) -> None:
    buckets: dict[int, int] = {}
    for d in durations:
        buckets[m.bucket_of(d)] = buckets.get(m.bucket_of(d), 0) + 1
    ordered = sorted(durations)
    true = ordered[max(1, math.ceil(q * len(ordered))) - 1]
    estimate = m.quantile(buckets, q)
    assert estimate is not None
    low, high = m.bucket_bounds(m.bucket_of(true))
    assert low <= estimate <= high
    if true >= 1:
        assert estimate / true <= 2**0.25
        assert true / estimate <= 2**0.25


def test_quantile_of_nothing_is_none_and_q_is_checked() -> None:
    assert m.quantile({}, 0.5) is None
    assert m.quantile({3: 0}, 0.5) is None
    with pytest.raises(ValueError, match="quantile"):
        m.quantile({1: 1}, 0)


def test_age_bands() -> None:
    assert m.age_band(timedelta(hours=23)) == "under_1d"
    assert m.age_band(timedelta(days=1)) == "1d_3d"
    assert m.age_band(timedelta(days=6, hours=23)) == "3d_7d"
    assert m.age_band(timedelta(days=30)) == "over_7d"


def test_amounts_are_scaled_exactly_and_rounded_half_even_beyond_four_decimals() -> None:
    assert m.scaled(Decimal("12.34")) == 123_400
    assert m.scaled(Decimal("0.00005")) == 0
    assert m.scaled(Decimal("0.00015")) == 2
    assert m.unscaled(123_400) == Decimal("12.34")


# -- one case's contribution -----------------------------------------------------------------


def make_case(n: int = 0, **changes: object) -> Case:
    case = Case(
        id=derived_id("case", f"f{n}"), type="payment_failed", category="payments",
        entity_kind="payment", entity_key=f"pi_{n}", status=CaseStatus.NEW,
        tier=Tier.STRAIGHT_THROUGH, owner_team="payments_ops", queue="payments_ops.system",
        breakpoint="transaction", kind="system", title="t", opened_at=T0, updated_at=T0,
        first_seen_at=T0, last_seen_at=T0, sla_goal_at=T0, sla_due_at=T0,
        pauses_automation=False, amount=Decimal("10.00"), currency="EUR",
    )  # fmt: skip
    for name, value in changes.items():
        setattr(case, name, value)
    return case


def test_a_new_open_case_counts_as_open_with_its_exposure_and_age() -> None:
    c = m.contribution(make_case(), "stripe:card_declined")
    assert c[m.Key(m.CASES, "straight_through", "system", "transaction")] == m.Cell(1, 0)
    assert c[m.Key(m.STATUS, "new")] == m.Cell(1, 0)
    assert c[m.Key(m.OPEN_EXPOSURE, "EUR")] == m.Cell(1, 100_000)
    assert c[m.Key(m.OPEN_AGE, "payments", "payments_ops", T0.isoformat())] == m.Cell(1, 0)
    assert not any(k.name in (m.ENDED, m.BY_REASON, m.RESOLUTION_SECONDS) for k in c)


def test_a_resolved_case_counts_its_outcome_time_and_reason() -> None:
    case = make_case(status=CaseStatus.RESOLVED, resolved_at=T0 + timedelta(hours=2),
                     outcome="recovered", recovered_amount=Decimal("10.00"))  # fmt: skip
    c = m.contribution(case, "stripe:card_declined")
    assert c[m.Key(m.ENDED, "recovered")] == m.Cell(1, 0)
    assert c[m.Key(m.FIRST_TOUCH_RESOLVED)] == m.Cell(1, 0)
    assert c[m.Key(m.BY_REASON, "stripe:card_declined", "recovered")] == m.Cell(1, 0)
    assert c[m.Key(m.OUTCOME_AMOUNT, "recovered", "EUR")] == m.Cell(1, 100_000)
    bucket = str(m.bucket_of(7200))
    assert c[m.Key(m.RESOLUTION_SECONDS, "straight_through", bucket)] == m.Cell(1, 0)
    assert c[m.Key(m.FIRST_TOUCH_SECONDS, "straight_through", bucket)] == m.Cell(1, 0)
    assert m.Key(m.OPEN_EXPOSURE, "EUR") not in c


def test_delta_of_a_case_against_itself_is_empty() -> None:
    c = m.contribution(make_case(escalation_level=1, sla_breached_at=T0), "x")
    assert m.delta(c, c) == {}
    assert m.delta(None, c) == c
    assert m.total([c, m.delta(c, None)]) == {}


# -- the property: incremental == rebuild ----------------------------------------------------

STATUSES = list(CaseStatus)


@st.composite
def change(draw: st.DrawFn) -> dict[str, object]:
    """One arbitrary change to a case's metric-relevant fields."""
    hours = draw(st.integers(min_value=0, max_value=400))
    at = T0 + timedelta(hours=hours, seconds=draw(st.integers(0, 3599)))
    status = draw(st.sampled_from(STATUSES))
    out: dict[str, object] = {"status": status, "updated_at": at}
    if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        out["resolved_at"] = at if status is CaseStatus.RESOLVED else None
        out["closed_at"] = at if status is CaseStatus.CLOSED else None
        out["outcome"] = draw(st.sampled_from(["recovered", "written_off", "duplicate", "lost",
                                               None]))  # fmt: skip
    else:
        out["resolved_at"] = out["closed_at"] = out["outcome"] = None
    for name in ("triaged_at", "waiting_at", "sla_breached_at"):
        out[name] = draw(st.sampled_from([None, at]))
    out["tier"] = draw(st.sampled_from(list(Tier)))
    out["owner_team"] = draw(st.sampled_from(["payments_ops", "finance"]))
    out["escalation_level"] = draw(st.integers(0, 3))
    out["reopen_count"] = draw(st.integers(0, 2))
    out["amount"] = draw(st.sampled_from([None, Decimal("0.01"), Decimal("1234.5678"),
                                          Decimal("7.123456")]))  # fmt: skip
    out["currency"] = draw(st.sampled_from(["EUR", "USD"]))
    for name in ("recovered_amount", "written_off_amount", "lost_amount"):
        out[name] = draw(st.sampled_from([None, Decimal("5"), Decimal("0.00001")]))
    out["duplicate_of"] = draw(st.sampled_from([None, derived_id("case", "other")]))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), change()), max_size=40),
       st.lists(st.sampled_from([None, "stripe:card_declined", "iso:AC04"]), min_size=5,
                max_size=5))  # fmt: skip
def test_incremental_summaries_equal_a_rebuild(
    steps: list[tuple[int, dict[str, object]]], codes: list[str | None]
) -> None:
    cases: dict[int, Case] = {}
    summary: m.Counters = {}
    for n, fields in steps:
        before = cases.get(n)
        after = make_case(n) if before is None else make_case(n, **_fields_of(before))
        for name, value in fields.items():
            setattr(after, name, value)
        change_ = m.delta(None if before is None else m.contribution(before, codes[n]),
                          m.contribution(after, codes[n]))  # fmt: skip
        summary = m.total([summary, change_])
        cases[n] = after
    rebuilt, count = compute_summaries(iter([(c, codes[n]) for n, c in cases.items()]))
    assert summary == rebuilt
    assert count == len(cases)
    figures = metrics_from(summary, {}, T0 + timedelta(days=20))
    assert figures.cases == len(cases)
    assert sum(figures.by_status.values()) == len(cases)


def _fields_of(case: Case) -> dict[str, object]:
    return {name: getattr(case, name) for name in Case.__slots__}  # type: ignore[attr-defined]


def test_metrics_from_counters_reads_rates_and_quantiles() -> None:
    open_case = make_case(1)
    done = make_case(2, status=CaseStatus.RESOLVED, resolved_at=T0 + timedelta(hours=1),
                     outcome="written_off", written_off_amount=Decimal("10.00"),
                     reopen_count=1)  # fmt: skip
    summary = m.total([m.contribution(open_case, "a"), m.contribution(done, "a")])
    x = metrics_from(summary, {"events": 10, "findings": 2,
                               "reconcile_pairs": {"auto": 3, "confirmed": 1, "rejected": 5},
                               "writebacks": {"confirmed": 4, "dead": 1, "pending": 2}},
                     T0 + timedelta(days=2))  # fmt: skip
    assert (x.cases, x.open_cases) == (2, 1)
    assert x.exception_rate.rate == 0.2
    assert x.tier_split["straight_through"].rate == 1.0
    assert x.rework.count == 1
    assert x.reopens == 1
    assert x.first_touch_resolution.count == 0  # it was reopened
    assert x.reconcile_auto_match.rate == 0.75
    assert x.manual_reconciliations.count == 1
    assert x.writeback_success.rate == 0.8
    assert x.exposure_open == {"EUR": Decimal("10")}
    assert x.amounts["EUR"].written_off == Decimal("10")
    assert [(r.reason_code, r.recovered, r.ended) for r in x.recovery_by_reason] == [("a", 0, 1)]
    assert x.time_to_resolution.count == 1
    assert x.time_to_resolution.median_seconds is not None
    assert 3600 / 2**0.25 <= x.time_to_resolution.median_seconds <= 3600 * 2**0.25
    assert [(a.band, a.count) for a in x.aging] == [("1d_3d", 1)]
