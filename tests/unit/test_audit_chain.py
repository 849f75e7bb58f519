"""The audit trail: seal entries into a hash chain, and verify_chain finds the first break."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from recoup.domain.audit import (
    GENESIS,
    AuditEntry,
    AuditRecord,
    ChainBreak,
    canonical_json,
    record_hash,
    seal,
    verify_chain,
)

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def entries(count: int) -> list[AuditEntry]:
    return [
        AuditEntry(
            at=T0 + timedelta(minutes=n),
            actor="system:ingest",
            action="case.opened",
            subject_type="case",
            subject_id=f"case-{n}",
            data={"n": n, "after": {"status": "new"}},
        )
        for n in range(1, count + 1)
    ]


def chain(count: int = 5) -> list[AuditRecord]:
    return seal(entries(count), 0, GENESIS)


def test_sealing_numbers_records_and_links_each_to_the_one_before() -> None:
    records = chain(3)

    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == GENESIS
    assert records[1].prev_hash == records[0].hash
    assert records[2].prev_hash == records[1].hash
    assert len({r.hash for r in records}) == 3
    assert all(len(r.hash) == 64 for r in records)


def test_a_sealed_record_keeps_the_entry_with_its_data_as_canonical_json() -> None:
    (record,) = seal(entries(1), 0, GENESIS)

    assert (record.at, record.actor, record.action, record.subject_type, record.subject_id) == (
        T0 + timedelta(minutes=1), "system:ingest", "case.opened", "case", "case-1",
    )  # fmt: skip
    assert record.data == '{"after":{"status":"new"},"n":1}'
    assert record.data == canonical_json({"n": 1, "after": {"status": "new"}})


def test_sealing_converts_the_time_to_utc() -> None:
    paris = timezone(timedelta(hours=2))
    entry = dataclasses.replace(entries(1)[0], at=datetime(2026, 10, 1, 14, 0, tzinfo=paris))

    (record,) = seal([entry], 0, GENESIS)

    assert record.at == datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    assert record.at.utcoffset() == timedelta(0)


def test_sealing_is_deterministic() -> None:
    assert chain(4) == chain(4)


def test_an_intact_chain_verifies() -> None:
    records = chain(5)

    check = verify_chain(records)

    assert check.problem is None
    assert check.records == 5
    assert check.last_hash == records[-1].hash


def test_an_empty_trail_verifies_with_no_records() -> None:
    check = verify_chain([])

    assert (check.records, check.last_hash, check.problem) == (0, GENESIS, None)


def test_a_chain_sealed_in_several_batches_verifies() -> None:
    first = seal(entries(3), 0, GENESIS)
    second = seal(entries(2), first[-1].seq, first[-1].hash)

    check = verify_chain([*first, *second])

    assert [r.seq for r in second] == [4, 5]
    assert second[0].prev_hash == first[-1].hash
    assert (check.records, check.problem) == (5, None)


def test_altered_data_is_named_by_its_seq() -> None:
    records = chain(5)
    records[2] = dataclasses.replace(records[2], data='{"after":{"status":"closed"},"n":3}')

    check = verify_chain(records)

    assert check.problem == ChainBreak(3, "content was altered after it was written")
    assert str(check.problem) == "audit record 3: content was altered after it was written"
    assert check.records == 2
    assert check.last_hash == records[1].hash


def test_an_altered_record_with_a_recomputed_hash_breaks_the_next_link() -> None:
    records = chain(5)
    forged = dataclasses.replace(records[2], data="{}")
    forged = dataclasses.replace(
        forged,
        hash=record_hash(forged.seq, forged.at, forged.actor, forged.action,
                         forged.subject_type, forged.subject_id, forged.data, forged.prev_hash),
    )  # fmt: skip
    records[2] = forged

    check = verify_chain(records)

    assert check.problem == ChainBreak(4, "does not follow the record before it")
    assert check.records == 3


def test_a_removed_middle_record_is_named_as_a_gap() -> None:
    records = chain(5)
    del records[2]

    check = verify_chain(records)

    assert check.problem == ChainBreak(4, "expected record 3; records missing")
    assert check.records == 2
    assert check.last_hash == records[1].hash


def test_a_removed_first_record_is_a_gap_at_the_start() -> None:
    check = verify_chain(chain(3)[1:])

    assert check.problem == ChainBreak(2, "expected record 1; records missing")
    assert (check.records, check.last_hash) == (0, GENESIS)


def test_reordered_records_break_the_chain() -> None:
    records = chain(5)
    records[1], records[2] = records[2], records[1]

    check = verify_chain(records)

    assert check.problem == ChainBreak(3, "expected record 2; records missing")
    assert check.records == 1


def test_renumbered_records_after_a_removal_do_not_follow() -> None:
    records = chain(5)
    del records[2]
    records[2:] = [dataclasses.replace(r, seq=r.seq - 1) for r in records[2:]]

    check = verify_chain(records)

    assert check.problem == ChainBreak(3, "does not follow the record before it")


def test_a_chain_not_starting_at_genesis_does_not_follow() -> None:
    records = seal(entries(2), 0, "f" * 64)

    check = verify_chain(records)

    assert check.problem == ChainBreak(1, "does not follow the record before it")


@pytest.mark.parametrize(
    "change",
    [
        {"actor": "user:mallory"},
        {"action": "case.closed"},
        {"at": T0 + timedelta(minutes=2, microseconds=1)},
        {"subject_type": "finding"},
        {"subject_id": "case-99"},
        {"data": '{"n":2}'},
    ],
    ids=["actor", "action", "time", "subject_type", "subject_id", "data"],
)
def test_the_hash_covers_every_field(change: dict[str, object]) -> None:
    records = chain(3)
    records[1] = dataclasses.replace(records[1], **change)  # type: ignore[arg-type]

    check = verify_chain(records)

    assert check.problem == ChainBreak(2, "content was altered after it was written")


def test_the_same_instant_in_another_zone_hashes_the_same() -> None:
    records = chain(2)
    paris = timezone(timedelta(hours=2))
    records[1] = dataclasses.replace(records[1], at=records[1].at.astimezone(paris))

    assert verify_chain(records).problem is None


def test_record_hash_changes_with_the_previous_hash() -> None:
    args = (1, T0, "a", "b", "c", "d", "{}")

    assert record_hash(*args, GENESIS) != record_hash(*args, "f" * 64)
    assert record_hash(*args, GENESIS) == record_hash(*args, GENESIS)
