"""Assist models, suggestions and pattern alert state, mixed into the unit of work."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from recoup.adapters.store import tables as t
from recoup.adapters.store import tables_assist as ta
from recoup.adapters.store.rows import case_from_row
from recoup.domain.assist.features import TEXT_KEYS
from recoup.domain.assist.model import Suggestion, SuggestionStatus, Verdict
from recoup.domain.assist.spikes import Crossing, Failure, failure_dimensions
from recoup.domain.assist.store import CaseMaterial, ModelRecord
from recoup.domain.errors import ConflictError
from recoup.domain.ids import derived_id

OPERATOR_VERSION = "operator"
EVIDENCE_PER_CASE = 12
ENDED = ("resolved", "closed")


MAX_RAW = 20_000


def _raw_text(raw: str | None) -> dict[str, str]:
    """The free-text fields of an event's canonical record (``reason_message`` and the like)
    that are kept only in its raw body."""
    if not raw or len(raw) > MAX_RAW or not raw.startswith("{"):
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {k: v for k in TEXT_KEYS if isinstance(v := body.get(k), str) and v.strip()}


def suggestion_id(case_id: str, field: str) -> str:
    return derived_id("assist.suggestion", case_id, field)


def _suggestion(row: Any) -> Suggestion:
    m = row._mapping
    return Suggestion(
        case_id=str(m["case_id"]),
        field=m["field"],
        value=m["value"],
        confidence=float(m["confidence"]),
        model_version=m["model_version"],
        status=SuggestionStatus(m["status"]),
        created_at=m["created_at"],
        agrees_with_policy=m["agrees_with_policy"],
        verdict=None if m["verdict"] is None else Verdict(m["verdict"]),
        final_value=m["final_value"],
        decided_by=m["decided_by"],
        decided_at=m["decided_at"],
    )


def _model(row: Any) -> ModelRecord:
    m = row._mapping
    return ModelRecord(
        m["version"],
        m["created_at"],
        m["created_by"],
        m["label_count"],
        m["source"],
        list(m["fields"]),
        m["digest"],
        float(m["band"]),
        dict(m["metrics"]),
    )


class AssistMixin:
    conn: sa.Connection
    dialect: str
    _chunked: Callable[[Sequence[Any]], Iterator[Sequence[Any]]]
    _one_of: Callable[[Any, Sequence[Any]], Any]

    def _assist_insert(self, table: sa.Table) -> Any:
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    # -- labels and features ---------------------------------------------------------------

    def assist_resolved_case_ids(self, limit: int) -> list[str]:
        c = t.cases.c
        query = (
            sa.select(c.id)
            .where(c.status.in_(ENDED))
            .order_by(c.resolved_at.desc(), c.id)
            .limit(limit)
        )
        return [str(i) for i in self.conn.execute(query).scalars()]

    def assist_material(self, case_ids: Sequence[str]) -> dict[str, CaseMaterial]:
        ids = sorted(set(case_ids))
        cases: dict[str, Any] = {}
        findings: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for chunk in self._chunked(ids):
            for row in self.conn.execute(
                sa.select(t.cases).where(self._one_of(t.cases.c.id, chunk))
            ):
                cases[str(row.id)] = case_from_row(row)
            f = t.findings.c
            query = (
                sa.select(
                    f.id,
                    f.case_id,
                    f.type,
                    f.occurred_at,
                    f.summary,
                    f.reason_code,
                    f.detail,
                    f.evidence,
                    f.trigger_event_id,
                    f.amount,
                    f.currency,
                )
                .where(self._one_of(f.case_id, chunk))
                .order_by(f.occurred_at, f.id)
            )
            for found in self.conn.execute(query):
                findings[str(found.case_id)].append(dict(found._mapping))
        wanted: dict[str, list[str]] = {}
        for case_id, rows in findings.items():
            seen: list[str] = []
            for item in rows:
                for event_id in [str(item["trigger_event_id"]), *map(str, item["evidence"])]:
                    if event_id not in seen:
                        seen.append(event_id)
            wanted[case_id] = seen[:EVIDENCE_PER_CASE]
        events: dict[str, dict[str, Any]] = {}
        all_ids = sorted({e for ids_ in wanted.values() for e in ids_})
        e = t.events.c
        for chunk in self._chunked(all_ids):
            query = sa.select(
                e.id,
                e.source,
                e.type,
                e.occurred_at,
                e.amount,
                e.currency,
                e.reason_code,
                e.status,
                e.attributes,
                e.raw,
            ).where(self._one_of(e.id, chunk))
            for event in self.conn.execute(query):
                values = dict(event._mapping)
                text = _raw_text(values.pop("raw"))
                values["attributes"] = {**text, **(values["attributes"] or {})}
                events[str(event.id)] = values
        return {
            case_id: CaseMaterial(
                case,
                findings.get(case_id, []),
                [events[i] for i in wanted.get(case_id, []) if i in events],
            )
            for case_id, case in cases.items()
        }

    def assist_unsuggested_open_cases(self, limit: int) -> list[str]:
        """Open cases without any suggestion yet, oldest first."""
        c, s = t.cases.c, ta.assist_suggestions.c
        query = (
            sa.select(c.id)
            .where(c.status.not_in(ENDED), c.id.not_in(sa.select(s.case_id).distinct()))
            .order_by(c.opened_at, c.id)
            .limit(limit)
        )
        return [str(i) for i in self.conn.execute(query).scalars()]

    def assist_decisions(self, case_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        s = ta.assist_suggestions.c
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for chunk in self._chunked(sorted(set(case_ids))):
            query = sa.select(s.case_id, s.field, s.final_value).where(
                self._one_of(s.case_id, chunk), s.verdict.is_not(None)
            )
            for row in self.conn.execute(query):
                if row.final_value:
                    out[str(row.case_id)][row.field] = row.final_value
        return dict(out)

    # -- models -----------------------------------------------------------------------------

    def assist_add_model(self, record: ModelRecord) -> None:
        self.conn.execute(
            ta.assist_models.insert().values(
                version=record.version,
                created_at=record.created_at,
                created_by=record.created_by,
                label_count=record.label_count,
                source=record.source,
                fields=record.fields,
                digest=record.digest,
                band=record.band,
                metrics=record.metrics,
            )
        )

    def assist_models(self, limit: int) -> list[ModelRecord]:
        m = ta.assist_models.c
        query = sa.select(ta.assist_models).order_by(m.created_at.desc(), m.version.desc())
        return [_model(r) for r in self.conn.execute(query.limit(limit))]

    # -- suggestions --------------------------------------------------------------------------

    def assist_suggestions(self, case_id: str) -> list[Suggestion]:
        s = ta.assist_suggestions.c
        query = sa.select(ta.assist_suggestions).where(s.case_id == case_id)
        return [_suggestion(r) for r in self.conn.execute(query)]

    def assist_put_suggestions(self, suggestions: Sequence[Suggestion]) -> list[Suggestion]:
        if not suggestions:
            return []
        table = ta.assist_suggestions
        s = table.c
        rows = [
            {
                "id": suggestion_id(x.case_id, x.field),
                "case_id": x.case_id,
                "field": x.field,
                "value": x.value,
                "confidence": x.confidence,
                "model_version": x.model_version,
                "status": x.status.value,
                "agrees_with_policy": x.agrees_with_policy,
                "created_at": x.created_at,
            }
            for x in suggestions
        ]
        insert = self._assist_insert(table)
        replaced = (
            "value",
            "confidence",
            "model_version",
            "status",
            "agrees_with_policy",
            "created_at",
        )
        statement = insert.on_conflict_do_update(
            index_elements=["case_id", "field"],
            set_={name: insert.excluded[name] for name in replaced},
            where=sa.and_(
                s.verdict.is_(None),
                sa.or_(
                    s.model_version != insert.excluded.model_version,
                    s.value != insert.excluded.value,
                ),
            ),
        )
        written: list[Suggestion] = []
        for row, suggestion in zip(rows, suggestions, strict=True):
            if self.conn.execute(statement.returning(s.id), row).first() is not None:
                written.append(suggestion)
        return written

    def assist_decide(
        self, suggestion: Suggestion, verdict: Verdict, value: str, actor: str, at: datetime
    ) -> Suggestion:
        table = ta.assist_suggestions
        s = table.c
        values = {
            "verdict": verdict.value,
            "final_value": value,
            "decided_by": actor,
            "decided_at": at,
        }
        if suggestion.model_version == OPERATOR_VERSION and suggestion.verdict is None:
            insert = self._assist_insert(table).values(
                id=suggestion_id(suggestion.case_id, suggestion.field),
                case_id=suggestion.case_id,
                field=suggestion.field,
                value=value,
                confidence=1.0,
                model_version=OPERATOR_VERSION,
                status=SuggestionStatus.NEEDS_PERSON.value,
                agrees_with_policy=None,
                created_at=at,
                **values,
            )
            inserted = insert.on_conflict_do_nothing().returning(s.id)
            done = int(self.conn.execute(inserted).first() is not None)
        else:
            done = self.conn.execute(
                table.update()
                .where(
                    s.case_id == suggestion.case_id,
                    s.field == suggestion.field,
                    s.model_version == suggestion.model_version,
                    s.value == suggestion.value,
                    s.verdict.is_(None),
                )
                .values(**values)
            ).rowcount
        if not done:
            raise ConflictError(
                f"the {suggestion.field} suggestion of case "
                f"{suggestion.case_id} changed or was decided meanwhile"
            )
        rows = [
            x for x in self.assist_suggestions(suggestion.case_id) if x.field == suggestion.field
        ]
        return rows[0]

    def assist_rates(self) -> list[dict[str, Any]]:
        s = ta.assist_suggestions.c
        query = (
            sa.select(s.model_version, s.field, s.status, s.verdict, sa.func.count().label("count"))
            .group_by(s.model_version, s.field, s.status, s.verdict)
            .order_by(s.model_version, s.field, s.status, s.verdict)
        )
        return [dict(r._mapping) for r in self.conn.execute(query)]

    # -- patterns -----------------------------------------------------------------------------

    def assist_failures(
        self, since: datetime, until: datetime, exclude: Sequence[str]
    ) -> list[Failure]:
        f, e = t.findings.c, t.events.c
        query = (
            sa.select(
                f.type,
                f.reason_code,
                f.occurred_at,
                e.id,
                e.source,
                e.attributes,
                e.reason_code.label("event_reason"),
            )
            .join(t.events, e.id == f.trigger_event_id)
            .where(f.occurred_at >= since, f.occurred_at <= until, f.type.not_in(list(exclude)))
            .order_by(f.occurred_at, f.id)
        )
        out = []
        for row in self.conn.execute(query):
            reason = row.reason_code or row.event_reason
            out.append(
                Failure(
                    row.type,
                    reason,
                    row.occurred_at,
                    str(row.id),
                    failure_dimensions(row.source, reason, row.attributes),
                )
            )
        return out

    def assist_crossings(self) -> dict[str, Crossing]:
        query = sa.select(ta.assist_crossings)
        return {
            r.key: Crossing(r.key, bool(r.is_crossed), r.crossings, r.changed_at, dict(r.detail))
            for r in self.conn.execute(query)
        }

    def assist_save_crossings(self, crossings: Sequence[Crossing]) -> None:
        if not crossings:
            return
        insert = self._assist_insert(ta.assist_crossings)
        statement = insert.on_conflict_do_update(
            index_elements=["key"],
            set_={
                n: insert.excluded[n] for n in ("is_crossed", "crossings", "changed_at", "detail")
            },
        )
        self.conn.execute(
            statement,
            [
                {
                    "key": c.key,
                    "is_crossed": c.is_crossed,
                    "crossings": c.crossings,
                    "changed_at": c.changed_at,
                    "detail": dict(c.detail),
                }
                for c in crossings
            ],
        )
