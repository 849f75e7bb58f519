"""The DuckDB engine behind the domain's ``ReconcileEngine`` port: items in, rows out."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from recoup.adapters.reconcile.engine import reconcile
from recoup.adapters.reconcile.synthetic import LEFT_SCHEMA, RIGHT_SCHEMA
from recoup.domain.reconcile.items import BreakRow, EngineResult, ItemColumns, MatchRow
from recoup.domain.reconcile.rules import Rules


def _table(items: ItemColumns, schema: pa.Schema) -> pa.Table:
    return pa.table(
        {f.name: pa.array(getattr(items, f.name), type=f.type) for f in schema}, schema=schema
    )


_MATCH_FIELDS = ("match_id", "left_id", "right_id", "rule", "score", "status", "group_size")
_BREAK_FIELDS = ("item_id", "side", "reason", "field", "expected", "actual", "candidate_id")


class DuckDbEngine:
    """Runs :func:`reconcile` on items; an in-memory DuckDB per run."""

    def run(self, left: ItemColumns, right: ItemColumns, rules: Rules) -> EngineResult:
        result = reconcile(_table(left, LEFT_SCHEMA), _table(right, RIGHT_SCHEMA), rules)
        # Column by column, not a dict per row: a run at scale returns a million pairs.
        m = result.matches
        diffs = [Decimal(d or 0) for d in m.column("amount_diff").to_pylist()]
        matches = [
            MatchRow(*row)
            for row in zip(*(m.column(n).to_pylist() for n in _MATCH_FIELDS), diffs, strict=True)
        ]
        b = result.breaks
        breaks = [BreakRow(*row) for row in zip(*(b.column(n).to_pylist() for n in _BREAK_FIELDS),
                                                  strict=True)]  # fmt: skip
        return EngineResult(matches, breaks, dict(result.stats))
