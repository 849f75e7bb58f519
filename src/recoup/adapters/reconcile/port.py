"""The DuckDB engine behind the domain's ``ReconcileEngine`` port: items in, rows out."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from recoup.adapters.reconcile.engine import reconcile
from recoup.adapters.reconcile.synthetic import LEFT_SCHEMA, RIGHT_SCHEMA
from recoup.domain.reconcile.items import BreakRow, EngineResult, Item, MatchRow
from recoup.domain.reconcile.rules import Rules

_LEFT = [f.name for f in LEFT_SCHEMA]
_RIGHT = [f.name for f in RIGHT_SCHEMA]


def _table(items: Sequence[Item], names: list[str], schema: pa.Schema) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for item in items:
        for name in names:
            columns[name].append(getattr(item, name))
    return pa.table(columns, schema=schema)


class DuckDbEngine:
    """Runs :func:`reconcile` on items; an in-memory DuckDB per run."""

    def run(self, left: Sequence[Item], right: Sequence[Item], rules: Rules) -> EngineResult:
        result = reconcile(_table(left, _LEFT, LEFT_SCHEMA), _table(right, _RIGHT, RIGHT_SCHEMA),
                           rules)  # fmt: skip
        matches = [
            MatchRow(
                match_id=str(row["match_id"]),
                left_id=str(row["left_id"]),
                right_id=str(row["right_id"]),
                rule=str(row["rule"]),
                score=float(row["score"]),
                status=str(row["status"]),
                group_size=int(row["group_size"]),
                amount_diff=Decimal(row["amount_diff"] or 0),
            )
            for row in result.matches.to_pylist()
        ]
        breaks = [
            BreakRow(
                item_id=str(row["item_id"]),
                side=str(row["side"]),
                reason=str(row["reason"]),
                field=row.get("field"),
                expected=row.get("expected"),
                actual=row.get("actual"),
                candidate_id=row.get("candidate_id"),
            )
            for row in result.breaks.to_pylist()
        ]
        return EngineResult(matches, breaks, dict(result.stats))
