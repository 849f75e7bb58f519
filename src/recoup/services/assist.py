"""Assist: learn from operators, suggest inside the guardrails, watch for spikes, summarise.

- ``train_model`` learns from resolved cases (their type and owner, and the root causes and
  next actions operators chose), holds a share of them out, stores the model file and its
  held-out metrics under a new version. It refuses until ``min_labels`` labeled cases exist.
- ``suggest_cases`` runs the newest model over open cases and stores one suggestion per field
  with the model version and confidence. The guardrails (``domain/assist/guardrails.py``)
  decide what a suggestion may do; nothing here writes to a case.
- ``accept_suggestion`` / ``override_suggestion`` record what an operator did; those choices
  are the labels of the next training, and their rates are reported per model.
- ``scan_patterns`` tests where failures concentrate and raises one ``pattern_alert`` finding
  per crossing through the normal case pipeline (owned by operations by the default policy).
- ``summarise_case`` builds the deterministic hand-off summary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recoup.domain.assist.calibration import FieldQuality, field_quality
from recoup.domain.assist.features import features_of
from recoup.domain.assist.guardrails import guard, needs_person
from recoup.domain.assist.labels import (
    FIELDS,
    LabeledExample,
    check_field,
    check_value,
    label_counts,
    labels_of,
)
from recoup.domain.assist.model import (
    Learner,
    ModelFiles,
    Suggestion,
    SuggestionModel,
    SuggestionStatus,
    Verdict,
)
from recoup.domain.assist.spikes import (
    ALERT_TYPE,
    SpikeRule,
    advance,
    alert_finding,
    cells,
    judge_cells,
)
from recoup.domain.assist.store import AssistUnitOfWork, AssistUow, CaseMaterial, ModelRecord
from recoup.domain.assist.summary import CaseSummary, summarise
from recoup.domain.audit import AuditEntry
from recoup.domain.detection.taxonomy import ALL_TYPES
from recoup.domain.errors import ConflictError, InvalidInputError, Location, NotFoundError
from recoup.domain.ids import derived_id
from recoup.domain.policy import PolicyEngine
from recoup.domain.ports import Clock
from recoup.services.ingest import store_findings, unseen_findings

ACTOR = "system:assist"
OPERATOR_VERSION = "operator"

Reader = Callable[[], AssistUnitOfWork]


@dataclass(frozen=True, slots=True)
class AssistOptions:
    min_labels: int = 200
    band: float = 0.9
    holdout: float = 0.2
    max_labels: int = 50_000
    spike: SpikeRule = field(default_factory=SpikeRule)


@dataclass(frozen=True, slots=True)
class AssistTools:
    learner: Learner
    files: ModelFiles


# -- labels -----------------------------------------------------------------------------------


def example_of(material: CaseMaterial, decisions: dict[str, str]) -> LabeledExample | None:
    case = material.case
    labels = labels_of(case.type, case.owner_team, case.outcome, decisions)
    if not labels:
        return None
    features = features_of(
        material.findings, material.events, amount=case.amount, currency=case.currency
    )
    return LabeledExample(case.id, features, labels)


def labeled_examples(tx: AssistUnitOfWork, limit: int) -> list[LabeledExample]:
    """The labeled cases of the store, most recently resolved first."""
    ids = tx.assist_resolved_case_ids(limit)
    material = tx.assist_material(ids)
    decisions = tx.assist_decisions(ids)
    out = []
    for case_id in ids:
        if case_id in material:
            example = example_of(material[case_id], decisions.get(case_id, {}))
            if example is not None:
                out.append(example)
    return out


def is_held_out(key: str, holdout: float) -> bool:
    """Held out by a hash of the case id: the same case stays on the same side across
    trainings, so a later evaluation never scores a model on cases it learned from."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < holdout


def split(
    examples: Sequence[LabeledExample], holdout: float
) -> tuple[list[LabeledExample], list[LabeledExample]]:
    train: list[LabeledExample] = []
    test: list[LabeledExample] = []
    for example in examples:
        (test if is_held_out(example.key, holdout) else train).append(example)
    return train, test


def quality(
    model: SuggestionModel, test: Sequence[LabeledExample], band: float
) -> dict[str, FieldQuality]:
    """Per field the model learned: accuracy, ECE and what the band lets through, on ``test``."""
    out = {}
    predictions = model.predict([e.features for e in test])
    for name in model.fields:
        rows = [
            (p, e.labels[name])
            for p, e in zip(predictions[name], test, strict=True)
            if name in e.labels
        ]
        out[name] = field_quality(
            name,
            [p.value for p, _ in rows],
            [p.confidence for p, _ in rows],
            [t for _, t in rows],
            band,
        )
    return out


# -- training -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainReport:
    model: ModelRecord
    quality: dict[str, FieldQuality]
    trained_on: int
    held_out: int


def train_model(
    *,
    uow: AssistUow,
    clock: Clock,
    tools: AssistTools,
    options: AssistOptions,
    actor: str = ACTOR,
    extra: Sequence[LabeledExample] = (),
    extra_source: str | None = None,
) -> TrainReport:
    """Train on the store's labels (plus ``extra``, generated history for trials) and register
    the model as the newest version, with its held-out metrics; audited."""
    now = clock.now()
    with uow() as tx:
        examples = labeled_examples(tx, options.max_labels)
        feedback = suggestion_rates(tx.assist_rates())
        known = len(tx.assist_models(1_000_000))
    examples = [*examples, *extra]
    counts = label_counts(examples)
    if len(examples) < options.min_labels:
        raise ConflictError(
            f"only {len(examples)} labeled cases; assist learns from {options.min_labels} "
            "(RECOUP_ASSIST__MIN_LABELS) and suggests nothing before"
        )
    fields = [name for name in FIELDS if counts[name] >= options.min_labels]
    train, test = split(examples, options.holdout)
    model = tools.learner.fit(train, fields)
    if not model.fields:
        raise ConflictError("no field has two values with enough labels to learn from")
    scores = quality(model, test, options.band)
    source = (
        "store"
        if not extra
        else ("generated" if len(extra) == len(examples) else "store+generated")
    )
    if extra_source and extra:
        source = f"{source}:{extra_source}"[:32]
    version = f"m{known + 1:04d}-{now:%Y%m%dT%H%M%SZ}"
    metrics = {
        "fields": {k: v.as_dict() for k, v in scores.items()},
        "band": options.band,
        "trained_on": len(train),
        "held_out": len(test),
        "labels": counts,
        "operator_feedback": feedback,
    }
    digest = tools.files.save(model, version, metrics)
    record = ModelRecord(
        version,
        now,
        actor,
        len(examples),
        source,
        list(model.fields),
        digest,
        options.band,
        metrics,
    )
    with uow() as tx:
        tx.assist_add_model(record)
        tx.append_audit(
            [
                AuditEntry(
                    now,
                    actor,
                    "assist.model_trained",
                    "assist_model",
                    version,
                    {
                        "labels": len(examples),
                        "source": source,
                        "fields": list(model.fields),
                        "digest": digest,
                    },
                )
            ]
        )
        tx.commit()
    return TrainReport(record, scores, len(train), len(test))


def latest_model(tx: AssistUnitOfWork) -> ModelRecord | None:
    found = tx.assist_models(1)
    return found[0] if found else None


def evaluate_model(
    *,
    reader: Reader,
    tools: AssistTools,
    options: AssistOptions,
    version: str | None = None,
    extra: Sequence[LabeledExample] = (),
) -> TrainReport:
    """Score a stored model (the newest by default) on today's held-out labels, which include
    the choices operators made since it was trained. Stores nothing."""
    with reader() as tx:
        models = tx.assist_models(1_000_000)
        examples = labeled_examples(tx, options.max_labels)
    record = next((m for m in models if version in (None, m.version)), None)
    if record is None:
        raise NotFoundError(
            f"no model {version}" if version else "no model yet: run `recoup assist train`"
        )
    model = tools.files.load(record.version, record.digest)
    _, test = split([*examples, *extra], options.holdout)
    if not test:
        raise ConflictError("no held-out labeled cases to evaluate on")
    return TrainReport(record, quality(model, test, options.band), 0, len(test))


# -- suggestions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseAdvice:
    """The suggestions shown on a case, and whether a person must look."""

    case_id: str
    suggestions: list[Suggestion]
    needs_person: bool
    model_version: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "needs_person": self.needs_person,
            "model_version": self.model_version,
            "note": self.note,
            "suggestions": [s.as_dict() for s in self.suggestions],
        }


def _ordered(suggestions: Sequence[Suggestion]) -> list[Suggestion]:
    rank = {name: i for i, name in enumerate(FIELDS)}
    return sorted(suggestions, key=lambda s: rank.get(s.field, len(rank)))


def suggestions_for(case_id: str, reader: Reader) -> CaseAdvice:
    """What the case page shows: the stored suggestions of a case (id or prefix)."""
    with reader() as tx:
        case = tx.find_case(case_id)
        found = _ordered(tx.assist_suggestions(case.id))
    versions = sorted({s.model_version for s in found if s.model_version != OPERATOR_VERSION})
    return CaseAdvice(case.id, found, needs_person(found), versions[-1] if versions else None)


def suggest_cases(
    case_ids: Sequence[str],
    *,
    uow: AssistUow,
    clock: Clock,
    tools: AssistTools,
    options: AssistOptions,
    actor: str = ACTOR,
) -> list[CaseAdvice]:
    """Suggest for these open cases with the newest model and store the suggestions (a case
    already suggested by the same model with the same values is left alone); audited per case.
    With no model yet, nothing is suggested and the advice says why."""
    now = clock.now()
    with uow() as tx:
        record = latest_model(tx)
    if record is None:
        note = (
            f"no model yet: assist learns once {options.min_labels} labeled cases exist "
            "(`recoup assist train`)"
        )
        return [CaseAdvice(i, [], False, None, note) for i in case_ids]
    model = tools.files.load(record.version, record.digest)
    with uow() as tx:
        cases = [tx.find_case(i) for i in case_ids]
        material = tx.assist_material([c.id for c in cases])
        open_cases = [c for c in cases if c.is_open]
        advice = {
            c.id: CaseAdvice(c.id, [], False, None, f"case is {c.status.value}: not suggested")
            for c in cases
            if not c.is_open
        }
        if not open_cases:
            return [advice[c.id] for c in cases]
        features = [
            features_of(
                material[c.id].findings, material[c.id].events, amount=c.amount, currency=c.currency
            )
            for c in open_cases
        ]
        predictions = model.predict(features)
        audit = []
        for index, case in enumerate(open_cases):
            made = [
                guard(case, name, predictions[name][index], options.band, record.version, now)
                for name in FIELDS
                if name in predictions
            ]
            written = tx.assist_put_suggestions(made)
            if written:
                audit.append(
                    AuditEntry(
                        now,
                        actor,
                        "assist.suggested",
                        "case",
                        case.id,
                        {
                            "model_version": record.version,
                            "band": options.band,
                            "suggestions": [
                                {
                                    "field": s.field,
                                    "value": s.value,
                                    "confidence": round(s.confidence, 4),
                                    "status": s.status.value,
                                }
                                for s in written
                            ],
                        },
                    )
                )
            stored = _ordered(tx.assist_suggestions(case.id))
            advice[case.id] = CaseAdvice(case.id, stored, needs_person(stored), record.version)
        tx.append_audit(audit)
        tx.commit()
    return [advice[c.id] for c in cases]


def suggest_new_cases(
    *, uow: AssistUow, clock: Clock, tools: AssistTools, options: AssistOptions, limit: int = 500
) -> int:
    """Suggest for open cases that have no suggestion yet (a worker round); returns how many
    cases were suggested for. Does nothing while there is no model."""
    with uow() as tx:
        if latest_model(tx) is None:
            return 0
        ids = tx.assist_unsuggested_open_cases(limit)
    if not ids:
        return 0
    advice = suggest_cases(ids, uow=uow, clock=clock, tools=tools, options=options)
    return sum(1 for a in advice if a.suggestions)


def _decide(
    case_id: str,
    field_name: str,
    verdict: Verdict,
    value: str | None,
    *,
    actor: str,
    uow: AssistUow,
    clock: Clock,
) -> Suggestion:
    check_field(field_name)
    now = clock.now()
    with uow() as tx:
        case = tx.find_case(case_id)
        current = next((s for s in tx.assist_suggestions(case.id) if s.field == field_name), None)
        if verdict is Verdict.ACCEPTED:
            if current is None or current.model_version == OPERATOR_VERSION:
                raise NotFoundError(f"case {case.id} has no {field_name} suggestion to accept")
            value = current.value
        else:
            assert value is not None
            value = check_value(field_name, value, ALL_TYPES)
            if current is not None and current.verdict is None and current.value == value:
                raise InvalidInputError(
                    f"{value!r} is the suggested {field_name}: accept it",
                    location=Location(field="value"),
                )
            if current is None:
                current = Suggestion(
                    case.id,
                    field_name,
                    value,
                    1.0,
                    OPERATOR_VERSION,
                    SuggestionStatus.NEEDS_PERSON,
                    now,
                )
        if current.verdict is not None:
            raise ConflictError(
                f"the {field_name} of case {case.id} was already "
                f"{current.verdict.value} by {current.decided_by}"
            )
        decided = tx.assist_decide(current, verdict, value, actor, now)
        tx.append_audit(
            [
                AuditEntry(
                    now,
                    actor,
                    f"assist.{verdict.value}",
                    "case",
                    case.id,
                    {
                        "field": field_name,
                        "suggested": current.value
                        if current.model_version != OPERATOR_VERSION
                        else None,
                        "value": value,
                        "model_version": current.model_version,
                        "confidence": round(current.confidence, 4),
                    },
                )
            ]
        )
        tx.commit()
    return decided


def accept_suggestion(
    case_id: str, field_name: str, *, actor: str, uow: AssistUow, clock: Clock
) -> Suggestion:
    """The operator agrees with the suggestion: it becomes a label. Policy fields stay as
    policy decided (use the case commands to move a case)."""
    return _decide(case_id, field_name, Verdict.ACCEPTED, None, actor=actor, uow=uow, clock=clock)


def override_suggestion(
    case_id: str, field_name: str, value: str, *, actor: str, uow: AssistUow, clock: Clock
) -> Suggestion:
    """The operator's own value for a field (with or without a suggestion): it becomes the
    field's value on the case's advice and a label for the next training."""
    return _decide(
        case_id, field_name, Verdict.OVERRIDDEN, value, actor=actor, uow=uow, clock=clock
    )


def suggestion_rates(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Accept and override rates per model version and field, from ``assist_rates`` rows."""
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        if row["model_version"] == OPERATOR_VERSION:
            continue
        key = (str(row["model_version"]), str(row["field"]))
        entry = table.setdefault(
            key,
            {
                "model_version": key[0],
                "field": key[1],
                "total": 0,
                "accepted": 0,
                "overridden": 0,
                "auto_accepted": 0,
            },
        )
        count = int(row["count"])
        entry["total"] += count
        if row["verdict"] in ("accepted", "overridden"):
            entry[str(row["verdict"])] += count
        if row["status"] == SuggestionStatus.AUTO_ACCEPTED.value:
            entry["auto_accepted"] += count
    for entry in table.values():
        decided = entry["accepted"] + entry["overridden"]
        entry["accept_rate"] = entry["accepted"] / decided if decided else None
        entry["override_rate"] = entry["overridden"] / decided if decided else None
    return [table[k] for k in sorted(table)]


def rates(*, reader: Reader) -> list[dict[str, Any]]:
    with reader() as tx:
        return suggestion_rates(tx.assist_rates())


def list_models(*, reader: Reader, limit: int = 50) -> list[ModelRecord]:
    with reader() as tx:
        return tx.assist_models(limit)


# -- summaries ----------------------------------------------------------------------------------


def summarise_case(case_id: str, reader: Reader, now: datetime | None = None) -> CaseSummary:
    """The deterministic hand-off summary of a case (id or prefix)."""
    with reader() as tx:
        case = tx.find_case(case_id)
        material = tx.assist_material([case.id])[case.id]
        timeline = tx.case_timeline(case.id)
        found = tx.assist_suggestions(case.id)
    return summarise(case, material.findings, material.events, timeline, found, now)


# -- spikes -------------------------------------------------------------------------------------


@dataclass
class ScanReport:
    failures: int = 0
    cells: int = 0
    spikes: list[str] = field(default_factory=list)
    """The cells spiking now (crossed before or now)."""
    alerts: list[str] = field(default_factory=list)
    """The summaries of the pattern alerts raised."""
    cleared: int = 0
    cases_opened: int = 0


def scan_patterns(
    *, uow: AssistUow, clock: Clock, options: AssistOptions, policy: PolicyEngine | None = None
) -> ScanReport:
    """Test where failures concentrate now against the baseline; raise one ``pattern_alert``
    finding per crossing (a case for operations), in one audited transaction."""
    now = clock.now()
    rule = options.spike
    report = ScanReport()
    with uow() as tx:
        failures = tx.assist_failures(now - rule.window - rule.baseline, now, [ALERT_TYPE])
        found = cells(failures, now, rule)
        judged = judge_cells(found, rule)
        changed, alerts = advance(tx.assist_crossings(), judged, now, rule)
        findings = unseen_findings([alert_finding(s, n, rule, now) for s, n in alerts], tx)
        plan = store_findings(findings, tx, now, policy=policy)
        tx.assist_save_crossings(changed)
        report.failures, report.cells = len(failures), len(judged)
        report.spikes = [s.cell.key for s in judged if s.is_spike]
        report.alerts = [f.summary for f in findings]
        report.cleared = sum(1 for c in changed if not c.is_crossed)
        report.cases_opened = len(plan.created)
        if changed or findings:
            stats = {
                "failures": report.failures,
                "cells": report.cells,
                "alerts": [f.entity_key for f in findings],
                "cleared": report.cleared,
                "crossed": [c.key for c in changed if c.is_crossed],
            }
            scan_id = derived_id("assist.scan", now.isoformat())
            tx.append_audit(
                [
                    *plan.audit,
                    AuditEntry(now, ACTOR, "assist.pattern_scan", "assist_scan", scan_id, stats),
                ]
            )
        tx.commit()
    return report
