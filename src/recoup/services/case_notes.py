"""Notes and evidence files on a case, and bulk changes to a list of cases by id.

A note is a timeline entry with an audit record; it changes nothing else on the case. An
attachment is stored with its SHA-256 and content type, with a timeline entry and an audit
record naming the hash, in one transaction; the same file attached twice to one case is
stored once (the second upload returns the first).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recoup.domain.cases.casing import CasePlan, change_plan
from recoup.domain.cases.teams import TeamDirectory
from recoup.domain.errors import InvalidInputError, Location, NotFoundError
from recoup.domain.ids import derived_id
from recoup.domain.ports import Clock
from recoup.services.api_views import ApiStore
from recoup.services.bulk import BulkReport, Change, _all_or_nothing, apply_changes
from recoup.services.cases import assignment

NOTE_MAX = 10_000
"""Characters in one note."""


def add_note(id_or_prefix: str, text: str, *, actor: str, uow: Callable[[], ApiStore],
             clock: Clock) -> dict[str, Any]:  # fmt: skip
    """Add a note to a case's timeline (open or not); returns the entry."""
    body = text.strip()
    if not body:
        raise InvalidInputError("a note needs text", location=Location(field="text"))
    if len(body) > NOTE_MAX:
        raise InvalidInputError(f"a note holds at most {NOTE_MAX:,} characters",
                                location=Location(field="text"))  # fmt: skip
    now = clock.now()
    with uow() as tx:
        case = tx.find_case(id_or_prefix)
        plan = change_plan(case, case.snapshot(), now=now, actor=actor, action="case.noted",
                           kind="note", summary=body, data={"text": body},
                           entry_key=f"{now.isoformat()}|{actor}|{body}",
                           updates=False)  # fmt: skip
        entry = plan.timeline[0]
        stored = {str(e["id"]): e for e in tx.case_timeline(case.id) if e["kind"] == "note"}
        if entry.id in stored:  # the same note by the same person at the same instant: a retry
            return {**stored[entry.id], "id": entry.id, "case_id": case.id}
        tx.save_plan(plan, [])
        tx.append_audit(plan.audit)
        tx.commit()
    return {"id": entry.id, "case_id": entry.case_id, "at": entry.at, "kind": entry.kind,
            "actor": entry.actor, "summary": entry.summary, "data": entry.data}  # fmt: skip


@dataclass(frozen=True)
class Attached:
    attachment: dict[str, Any]
    """The stored attachment, without its content."""
    is_new: bool


def attach_file(
    id_or_prefix: str,
    *,
    filename: str,
    content_type: str,
    content: bytes,
    max_bytes: int,
    actor: str,
    uow: Callable[[], ApiStore],
    clock: Clock,
) -> Attached:
    """Attach a file to a case, once per content."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]
    if not name or any(ord(ch) < 32 for ch in name):
        raise InvalidInputError("the file needs a name without control characters",
                                location=Location(field="file"))  # fmt: skip
    if not content:
        raise InvalidInputError("the file is empty", location=Location(field="file"))
    if len(content) > max_bytes:
        raise InvalidInputError(f"the file is larger than {max_bytes:,} bytes",
                                location=Location(field="file"))  # fmt: skip
    kind = (content_type or "").strip()[:200]
    if not kind or any(ord(ch) < 32 or ord(ch) == 127 for ch in kind):
        kind = "application/octet-stream"  # served back as a header: nothing that could split it
    digest = hashlib.sha256(content).hexdigest()
    now = clock.now()
    with uow() as tx:
        case = tx.find_case(id_or_prefix)
        existing = tx.attachment_by_hash(case.id, digest)
        if existing is not None:
            return Attached(existing, False)
        row = {"id": derived_id("attachment", case.id, digest), "case_id": case.id,
               "filename": name, "content_type": kind, "size": len(content), "sha256": digest,
               "uploaded_by": actor[:100], "uploaded_at": now}  # fmt: skip
        if not tx.add_attachment({**row, "content": content}):
            # A concurrent upload of the same file won; theirs is the attachment.
            winner = tx.attachment_by_hash(case.id, digest)
            assert winner is not None
            return Attached(winner, False)
        meta = {k: row[k] for k in ("id", "filename", "content_type", "size", "sha256")}
        plan = change_plan(case, case.snapshot(), now=now, actor=actor, action="case.attached",
                           kind="attachment", summary=f"attached {name} ({len(content):,} bytes)",
                           data={"attachment": meta}, entry_key=digest,
                           updates=False)  # fmt: skip
        tx.save_plan(plan, [])
        tx.append_audit(plan.audit)
        tx.commit()
    return Attached(row, True)


def get_attachment(id_or_prefix: str, attachment_id: str, *,
                   reader: Callable[[], ApiStore]) -> dict[str, Any]:  # fmt: skip
    """An attachment with its content; NotFoundError unless it belongs to that case."""
    with reader() as tx:
        case = tx.find_case(id_or_prefix)
        found = tx.attachment(case.id, attachment_id)
    if found is None:
        raise NotFoundError(f"case {case.id} has no attachment {attachment_id}")
    return found


# -- bulk by id --------------------------------------------------------------------------------


def move_cases(
    case_ids: Sequence[str],
    to: str,
    reason: str,
    *,
    actor: str,
    uow: Callable[[], Any],
    clock: Clock,
    resolution: str | None = None,
    waiting_on: str | None = None,
) -> BulkReport:
    """Move every listed case (full ids) to ``to``, all or nothing."""
    changes = [Change(case_id, to, reason, resolution, waiting_on) for case_id in case_ids]
    return apply_changes(changes, actor=actor, uow=uow, clock=clock)


def assign_cases(
    case_ids: Sequence[str],
    member: str | None,
    reason: str,
    *,
    actor: str,
    uow: Callable[[], Any],
    clock: Clock,
    directory: TeamDirectory,
) -> BulkReport:
    """Give every listed open case (full ids) to ``member``, or back to the queue; all or
    nothing."""

    def plan_for(case: Any, now: datetime) -> CasePlan:
        return assignment(case, member, reason, actor, now, directory)

    return _all_or_nothing([(case_id, None) for case_id in case_ids], plan_for, actor=actor,
                           uow=uow, clock=clock)  # fmt: skip
