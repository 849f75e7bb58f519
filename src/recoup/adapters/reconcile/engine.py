"""The matching engine: passes of set-based SQL on DuckDB over Arrow tables.

Each pass works on the records no earlier pass matched (``recon_open_*``: copied once, and each
pass deletes what it matched):

1. **Candidates.** For every identifier key, an equi-join of left and right on that key; for the
   ``amount`` key a blocking equi-join on (amount band, date band, currency), the left row probing
   every band its tolerance and window reach, then the exact DECIMAL tolerance and date window as
   a filter; an ``in`` key joins the left value to the words of the right text. A many-to-one
   pass first groups the left rows (``GROUP BY group_by``, exact DECIMAL sums) and treats each
   group as one left row; a one-to-many pass does the same with the right rows. The joins
   write the candidate rows directly (amount difference, allowance, days, texts).
2. **Fuzzy text** (RapidFuzz, pairwise, in C++ threads) only on the candidate pairs the amount
   block found (and, when the block is the last key, only where both texts are present), never
   across the sides; a pair under a minimum similarity is dropped there, before scoring.
3. **Score** (:mod:`recoup.domain.reconcile.model`) and thresholds.
4. **Conflicts.** Greedy by (score desc, left id, right id) so each record is matched at most
   once, computed in rounds of locally dominant pairs (a pair that is the best of both of its
   records, found with ``min()`` of a struct per record); with a total order this gives exactly
   the greedy result, and does not depend on row order.

Leftovers become breaks (:func:`_breaks`, skipped with ``explain_breaks=False``). Money stays
DECIMAL(18,4) throughout; only scores are floating point.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process, utils

from recoup.domain import ids
from recoup.domain.errors import InvalidInputError
from recoup.domain.reconcile.model import (
    BREAK_SEARCH_EXTRA_DAYS,
    DEFAULT_REFERENCE_MIN,
    MATCH_ID_PREFIX,
)
from recoup.domain.reconcile.rules import Pass, PassKind, Rules

Progress = Callable[[str, int], None]

LEFT_COLUMNS = {
    "id": "VARCHAR",
    "kind": "VARCHAR",
    "amount": "DECIMAL(18,4)",
    "currency": "VARCHAR",
    "date": "DATE",
    "reference": "VARCHAR",
    "name": "VARCHAR",
    "payment_ref": "VARCHAR",
    "payout_ref": "VARCHAR",
    "end_to_end": "VARCHAR",
    "fx_rate": "DECIMAL(18,8)",
}
RIGHT_COLUMNS = {
    "id": "VARCHAR",
    "kind": "VARCHAR",
    "amount": "DECIMAL(18,4)",
    "currency": "VARCHAR",
    "date": "DATE",
    "reference": "VARCHAR",
    "name": "VARCHAR",
    "payout_ref": "VARCHAR",
    "end_to_end": "VARCHAR",
}
_REQUIRED = ("id", "amount", "currency", "date")
NO_AUTO_CHECKPOINT = "1000 GiB"
"""The ``checkpoint_threshold`` while :func:`reconcile` runs (restored afterwards)."""
_SCORERS = {
    "ratio": fuzz.ratio,
    "partial_ratio": fuzz.partial_ratio,
    "token_sort_ratio": fuzz.token_sort_ratio,
    "token_set_ratio": fuzz.token_set_ratio,
}
_MATCH_SCHEMA = pa.schema(
    [
        ("match_id", pa.string()),
        ("left_id", pa.string()),
        ("right_id", pa.string()),
        ("rule", pa.string()),
        ("score", pa.float64()),
        ("status", pa.string()),
        ("group_size", pa.int64()),
        ("amount_diff", pa.decimal128(18, 4)),
    ]
)

BREAK_SCHEMA = pa.schema(
    [(name, pa.string()) for name in
     ("item_id", "side", "reason", "field", "expected", "actual", "candidate_id")]
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    matches: pa.Table
    breaks: pa.Table
    unmatched_left: pa.Table
    unmatched_right: pa.Table
    stats: dict[str, Any] = field(default_factory=dict)


def reconcile(
    left: pa.Table,
    right: pa.Table,
    rules: Rules,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    progress: Progress | None = None,
    explain_breaks: bool = True,
) -> ReconcileResult:
    """Match ``left`` (expected) against ``right`` (bank lines) with ``rules``.

    Row order does not matter; output rows are in no particular order (sort by ids to compare).
    Temporary objects are named ``recon_*`` and dropped before returning; the connection's
    ``checkpoint_threshold`` is raised meanwhile and restored. With
    ``explain_breaks=False`` the breaks table is empty (matching only: the unmatched ids are
    still returned, their field-level reasons are not searched for).
    """
    started = time.perf_counter()
    con = con if con is not None else duckdb.connect()
    stats: dict[str, Any] = {"left_rows": left.num_rows, "right_rows": right.num_rows, "passes": {}}
    (threshold,) = _one(con, "SELECT current_setting('checkpoint_threshold')")
    # Every pass writes, replaces and deletes from temporary tables of up to millions of rows;
    # an automatic checkpoint (DuckDB's, past 16 MiB of changes) would compress them all again,
    # seconds of work in the middle of a pass: none runs until the call returns.
    con.execute(f"SET checkpoint_threshold = '{NO_AUTO_CHECKPOINT}'")
    try:
        _stage(con, left, "left", LEFT_COLUMNS)
        _stage(con, right, "right", RIGHT_COLUMNS)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE recon_matches (match_id VARCHAR, left_id VARCHAR, "
            "right_id VARCHAR, rule VARCHAR, score DOUBLE, status VARCHAR, "
            "amount_diff DECIMAL(18,4))"
        )
        tables = _open_all(con)
        for rule in rules.passes:
            began = time.perf_counter()
            run = _three_way if rule.kind is PassKind.THREE_WAY else _pass
            counts = run(con, rule)
            if counts["matched_left"] or counts["matched_right"]:
                _close_matched(con, rule, tables)
            counts["seconds"] = round(time.perf_counter() - began, 4)
            stats["passes"][rule.name] = counts
            if progress is not None:
                progress(rule.name, counts["matched_left"])
        began = time.perf_counter()
        result = _collect(con, rules, explain_breaks)
        stats["breaks_seconds"] = round(time.perf_counter() - began, 4)
        stats["matched_left"] = left.num_rows - result[2].num_rows
        stats["matched_right"] = right.num_rows - result[3].num_rows
        stats["breaks"] = result[1].num_rows
        stats["seconds"] = round(time.perf_counter() - started, 4)
        return ReconcileResult(*result, stats=stats)
    finally:
        try:
            _drop(con)
        finally:
            con.execute(f"SET checkpoint_threshold = '{threshold}'")


def _stage(
    con: duckdb.DuckDBPyConnection, table: pa.Table, side: str, columns: dict[str, str]
) -> None:
    """A table ``recon_<side>`` with every column of the spec, typed once (every later step
    reads it); absent optional columns are NULL. Money must arrive as decimal: a float amount
    is refused, not rounded."""
    names = set(table.column_names)
    missing = [c for c in (*_REQUIRED, *(("kind",) if side == "left" else ())) if c not in names]
    if missing:
        raise InvalidInputError(f"{side} table lacks columns {', '.join(missing)}")
    for money in ("amount", "fx_rate"):
        if money in names and pa.types.is_floating(table.schema.field(money).type):
            raise InvalidInputError(f"{side}.{money} is a float; money must be decimal128")
    con.register(f"recon_{side}_arrow", table)
    select = ", ".join(
        f"CAST({c} AS {t}) AS {c}" if c in names else f"CAST(NULL AS {t}) AS {c}"
        for c, t in columns.items()
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE recon_{side} AS SELECT {select} FROM recon_{side}_arrow"
    )
    con.unregister(f"recon_{side}_arrow")
    nulls, dupes = _one(
        con,
        "SELECT count(*) FILTER (WHERE id IS NULL), count(*) - count(DISTINCT id) "
        f"FROM recon_{side}",
    )
    if nulls or dupes:
        raise InvalidInputError(
            f"{side} ids must be unique and not null ({nulls} null, {dupes} repeated)"
        )


def _open_all(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The records no pass has matched yet: at first a view of every record; the first pass
    that matches a side turns it into a table without its matches, later passes delete theirs
    (a table, not a view re-evaluated at every reference inside a pass). Returns the sides
    already tables (none)."""
    for side in ("left", "right"):
        con.execute(f"CREATE OR REPLACE TEMP VIEW recon_open_{side} AS SELECT * FROM recon_{side}")
    return set()


def _close_matched(con: duckdb.DuckDBPyConnection, rule: Pass, tables: set[str]) -> None:
    """Remove the records ``rule`` matched from the open sets (``tables``: the sides that are
    tables already)."""
    for side in ("left", "right"):
        matched = f"SELECT {side}_id FROM recon_matches WHERE rule = '{_q(rule.name)}'"
        if side in tables:
            con.execute(f"DELETE FROM recon_open_{side} WHERE id IN ({matched})")
            continue
        con.execute(f"DROP VIEW recon_open_{side}")
        con.execute(
            f"CREATE TEMP TABLE recon_open_{side} AS SELECT * FROM recon_{side} o "
            f"WHERE NOT EXISTS ({matched} AND {side}_id = o.id)"
        )
        tables.add(side)


def _kinds(rule: Pass) -> str:
    return ", ".join(f"'{k}'" for k in rule.kinds)


def _left_rows(rule: Pass) -> str:
    """SQL for the pass's left units: gid, eamt (amount in the right's money), currency
    (NULL when an FX rate converts it), date_lo/date_hi, allow_hi (how much more the right may
    carry), allow_lo (how much less: the tolerance plus the fee allowance), k0.., reference,
    name."""
    keys = list(rule.keys)
    fraction = decimal_literal(rule.amount_percent / 100, 38, 12)
    absolute = decimal_literal(rule.amount_absolute, 38, 12)
    fee_fraction = decimal_literal((rule.amount_percent + rule.fee_percent) / 100, 38, 12)
    fee_absolute = decimal_literal(rule.amount_absolute + rule.fee_absolute, 38, 12)
    if rule.kind is PassKind.MANY_TO_ONE:
        g = rule.group_by

        def one(column: str) -> str:
            return (
                column
                if column == g
                else f"CASE WHEN count(DISTINCT {column}) = 1 THEN min({column}) END"
            )

        cols = ", ".join(
            f"{one(k.left_field)} AS k{i}" for i, k in enumerate(keys) if not k.is_amount_block
        )
        units = (
            f"SELECT {g} AS gid, CAST(sum(amount) AS DECIMAL(18,4)) AS eamt, "
            f"min(currency) AS currency, min(date) AS date_lo, max(date) AS date_hi, "
            f"{one('reference')} AS reference, {one('name')} AS name{', ' + cols if cols else ''} "
            f"FROM recon_open_left WHERE kind IN ({_kinds(rule)}) AND {g} IS NOT NULL "
            f"GROUP BY {g} HAVING count(DISTINCT currency) = 1"
        )
    else:
        cols = ", ".join(
            f"{k.left_field} AS k{i}" for i, k in enumerate(keys) if not k.is_amount_block
        )
        if rule.allow_fx:
            eamt = (
                "CASE WHEN fx_rate IS NULL THEN amount ELSE CAST(CAST(amount AS DECIMAL(38,4))"
                " * CAST(fx_rate AS DECIMAL(38,8)) AS DECIMAL(18,4)) END"
            )
            currency = "CASE WHEN fx_rate IS NULL THEN currency END"
        else:
            eamt, currency = "amount", "currency"
        units = (
            f"SELECT id AS gid, {eamt} AS eamt, {currency} AS currency, date AS date_lo, "
            f"date AS date_hi, reference, name{', ' + cols if cols else ''} "
            f"FROM recon_open_left WHERE kind IN ({_kinds(rule)})"
            + (" AND fx_rate IS NOT NULL" if rule.allow_fx else "")
        )
    magnitude = "CAST(abs(eamt) AS DECIMAL(38,4))"
    return (
        f"SELECT *, {absolute} + {fraction} * {magnitude} AS allow_hi, "
        f"{fee_absolute} + {fee_fraction} * {magnitude} AS allow_lo FROM ({units})"
    )


_RIGHT_TEXT = ("reference", "name", "end_to_end", "payout_ref")


def _right_rows(rule: Pass) -> str:
    """SQL for the pass's right units: rid, amount, currency, date_lo/date_hi and the text
    fields. A one-to-many pass groups the open right rows by ``group_by`` (two rows or more,
    one currency, exact DECIMAL sum); a field is kept when the group agrees on it."""
    if rule.kind is not PassKind.ONE_TO_MANY:
        return (
            "SELECT id AS rid, id, amount, currency, date AS date_lo, date AS date_hi, "
            f"{', '.join(_RIGHT_TEXT)} FROM recon_open_right"
        )
    g = rule.group_by
    text = ", ".join(
        c if c == g else f"CASE WHEN count(DISTINCT {c}) = 1 THEN min({c}) END AS {c}"
        for c in _RIGHT_TEXT
    )
    return (
        f"SELECT {g} AS rid, {g} AS id, CAST(sum(amount) AS DECIMAL(18,4)) AS amount, "
        f"min(currency) AS currency, min(date) AS date_lo, max(date) AS date_hi, {text} "
        f"FROM recon_open_right WHERE {g} IS NOT NULL GROUP BY {g} "
        "HAVING count(*) >= 2 AND count(DISTINCT currency) = 1"
    )


_CANDIDATE = (
    "l.gid, r.rid, %s AS via_key, r.amount - l.eamt AS diff, "
    "CASE WHEN r.amount < l.eamt THEN l.allow_lo ELSE l.allow_hi END AS allowed, "
    "CASE WHEN r.date_hi < l.date_lo THEN l.date_lo - r.date_hi "
    "WHEN r.date_lo > l.date_hi THEN r.date_lo - l.date_hi ELSE 0 END AS days, "
    "{lref} AS lref, {rref} AS rref, {lname} AS lname, {rname} AS rname"
)
"""The columns of a candidate pair (``%s``: whether an identifier key found it; the text
placeholders are filled by :func:`_candidate_columns`)."""


def _candidate_columns(rule: Pass) -> str:
    """:data:`_CANDIDATE` with the texts the pass compares, NULL for the others (a candidate
    table of millions of pairs need not carry texts nobody reads)."""
    none = "CAST(NULL AS VARCHAR)"
    ref = rule.reference_min is not None
    name = rule.name_min is not None
    return _CANDIDATE.format(
        lref="l.reference" if ref else none,
        rref="r.reference" if ref else none,
        lname="l.name" if name else none,
        rname="r.name" if name else none,
    )


WORD_SPLIT = "[^A-Za-z0-9_-]+"
"""Where a right text is cut into the words an ``in`` key compares (docs/reconcile.md)."""


def _pass(con: duckdb.DuckDBPyConnection, rule: Pass) -> dict[str, Any]:
    w = rule.date_window_days
    con.execute(f"CREATE OR REPLACE TEMP TABLE recon_l AS {_left_rows(rule)}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW recon_r AS {_right_rows(rule)}")
    if rule.kind is PassKind.ONE_TO_MANY:  # grouped once, not at every reference
        con.execute("CREATE OR REPLACE TEMP TABLE recon_r_units AS SELECT * FROM recon_r")
        con.execute("CREATE OR REPLACE TEMP VIEW recon_r AS SELECT * FROM recon_r_units")
    residual = (
        "(l.currency IS NULL OR l.currency = r.currency) "
        "AND r.amount - l.eamt BETWEEN -l.allow_lo AND l.allow_hi "
        f"AND r.date_lo >= l.date_lo - {w} AND r.date_hi <= l.date_hi + {w}"
    )
    # Keys are fallbacks: a left unit tries the next key only when the earlier ones found no
    # candidate within tolerance (this also keeps the amount block to the few left over). The
    # candidate rows are built by the joins themselves: a pair comes from one key only (a later
    # key sees only the units without candidates) and the band join finds each pair once.
    candidate = _candidate_columns(rule)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE recon_cand AS SELECT "
        f"{candidate % 'TRUE'} FROM recon_l l, recon_r r LIMIT 0"
    )
    for i, key in enumerate(rule.keys):
        rest = "NOT EXISTS (SELECT 1 FROM recon_cand c WHERE c.gid = l.gid)" if i else "TRUE"
        if key.is_amount_block:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE recon_l_rest AS SELECT * FROM recon_l l WHERE {rest}"
            )
            # A block pair whose compared text is absent on a side scores 0 on it and is dropped
            # below a positive minimum; when no key follows, it need not be built at all.
            absent = [
                f"l.{text} IS NOT NULL AND r.{text} IS NOT NULL"
                for text, minimum in (("reference", rule.reference_min), ("name", rule.name_min))
                if minimum is not None and minimum > 0 and i == len(rule.keys) - 1
            ]
            band = _band_pairs(
                con,
                "recon_l_rest",
                "recon_r",
                w,
                " AND ".join([residual, *absent]),
                candidate % "FALSE",
                "rid, amount, currency, date_lo, date_hi, reference, name",
            )
            con.execute(f"INSERT INTO recon_cand {band}")
            continue
        if key.in_text:
            # The (unit, line) pairs first, on their own: in one statement DuckDB may join the
            # units to the lines on the window and tolerance alone (an inequality join) and only
            # then on the words.
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE recon_word_pairs AS
                SELECT DISTINCT l.gid, t.rid FROM (
                    SELECT rid, unnest(regexp_split_to_array({key.right_field},
                                                             '{WORD_SPLIT}')) AS word
                    FROM recon_r WHERE {key.right_field} IS NOT NULL) t
                JOIN recon_l l ON l.k{i} = t.word WHERE {rest}
            """)
            source = (
                "recon_word_pairs p JOIN recon_l l ON l.gid = p.gid JOIN recon_r r ON r.rid = p.rid"
            )
        else:
            source = f"recon_l l JOIN recon_r r ON l.k{i} = r.{key.right_field}"
        con.execute(
            f"INSERT INTO recon_cand SELECT {candidate % 'TRUE'} FROM {source} "
            f"WHERE {residual} AND {rest}"
        )
    candidates = _count(con, "recon_cand")
    _score(con, rule)
    chosen = _resolve(con)
    rows = _record(con, rule)
    # A match row is one left and one right record; a group is one unit on its grouped side.
    matched_left = chosen if rule.kind is PassKind.ONE_TO_MANY else rows
    matched_right = chosen if rule.kind is PassKind.MANY_TO_ONE else rows
    return {
        "candidates": candidates,
        "matched_right": int(matched_right),
        "matched_left": int(matched_left),
    }


def _band_pairs(
    con: duckdb.DuckDBPyConnection,
    left_rel: str,
    right_rel: str,
    window: int,
    residual: str,
    select: str = "l.gid, r.rid",
    right_columns: str = "rid, amount, currency, date_lo, date_hi",
) -> str:
    """SQL for the (gid, rid) pairs of ``left_rel`` units (gid, eamt, currency, date_lo,
    date_hi, allow_lo, allow_hi) and ``right_rel`` units (rid, amount, currency, date_lo,
    date_hi) within tolerance and window, by blocking on (amount band, date band[, currency]).
    Each left unit probes every band its tolerance and window reach; the band functions are
    monotone, so no pair within tolerance is lost, and the exact DECIMAL filter ``residual``
    (aliases l, r) runs on the blocked pairs only. ``right_columns`` are the right columns
    ``select`` and ``residual`` may read (the banded view of the right side shows only them)."""
    median, without_currency = _one(
        con,
        "SELECT median(allow_lo + allow_hi), count(*) FILTER (WHERE currency IS NULL) "
        f"FROM {left_rel}",
    )
    reach = Decimal(median) if median is not None else Decimal(0)
    width = max(int(reach * 10000) + 1, 100)  # band in 1/10000 units: the median reach
    wd = 2 * window + 1
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW recon_rb AS
        SELECT {right_columns}, CAST(amount * 10000 AS BIGINT) // {width} AS ab,
               (date_lo - DATE '1970-01-01') // {wd} AS db
        FROM {right_rel}
    """)
    units = f"""
        (SELECT *, unnest(range((date_lo - {window} - DATE '1970-01-01') // {wd},
                                (date_hi + {window} - DATE '1970-01-01') // {wd} + 1)) AS db
         FROM (SELECT *,
                      unnest(range(CAST((eamt - allow_lo) * 10000 AS BIGINT) // {width},
                                   CAST((eamt + allow_hi) * 10000 AS BIGINT) // {width} + 1))
                      AS ab FROM {left_rel}))"""
    # A left unit with a currency joins on it too (an equality DuckDB hashes); one without
    # (converted by an FX rate) meets every currency of its bands: that second join is left
    # out when every unit has a currency.
    same = f"""
        SELECT {select} FROM {units} l
        JOIN recon_rb r ON r.ab = l.ab AND r.db = l.db AND r.currency = l.currency
        WHERE {residual}"""
    if not without_currency:
        return same
    return f"""
        SELECT * FROM ({same}
        UNION ALL
        SELECT {select} FROM {units} l
        JOIN recon_rb r ON r.ab = l.ab AND r.db = l.db
        WHERE l.currency IS NULL AND {residual})
    """


def _prepared(texts: pa.ChunkedArray, normalize: str) -> tuple[list[str], Any]:
    """The texts as the scorer should see them, and the processor to give RapidFuzz."""
    filled = texts.fill_null("")
    if normalize == "alnum":
        kept = pc.utf8_lower(pc.replace_substring_regex(filled, r"[^\pL\pN]+", ""))
        return kept.to_pylist(), None
    return filled.to_pylist(), utils.default_process


def _similarity(con: duckdb.DuckDBPyConnection, rule: Pass) -> str:
    """Register ``recon_sim`` (row, ref_sim, name_sim) for the amount-block candidates whose
    texts reach the pass's minimums (``row`` is the candidate's rowid; the others cannot pass)
    and return the SQL text part; RapidFuzz compares pairs, not the cross product."""
    wanted = [
        (label, a, b, minimum)
        for label, a, b, minimum in (
            ("ref_sim", "lref", "rref", rule.reference_min),
            ("name_sim", "lname", "rname", rule.name_min),
        )
        if minimum is not None
    ]
    columns = ", ".join(f"{a}, {b}" for _, a, b, _ in wanted)
    pairs = con.sql(
        f"SELECT rowid AS row, {columns} FROM recon_cand WHERE NOT via_key"
    ).to_arrow_table()
    scorer = _SCORERS[rule.scorer]
    sims: dict[str, Any] = {}
    keep = np.ones(pairs.num_rows, dtype=bool)
    for label, a, b, minimum in wanted:
        left_text, processor = _prepared(pairs[a], rule.normalize)
        right_text, _ = _prepared(pairs[b], rule.normalize)
        values = process.cpdist(
            left_text,
            right_text,
            scorer=scorer,
            processor=processor,
            score_cutoff=minimum,  # below it the pair is dropped: no need for the exact value
            workers=-1,
        )
        absent = np.asarray(pairs[a].is_null()) | np.asarray(pairs[b].is_null())
        sims[label] = np.where(absent, 0.0, np.asarray(values, dtype=np.float64))
        keep &= sims[label] >= minimum
    kept = pa.table(
        {"row": pairs["row"].filter(pa.array(keep))}
        | {label: pa.array(v[keep]) for label, v in sims.items()}
    )
    con.register("recon_sim_arrow", kept)
    con.execute("CREATE OR REPLACE TEMP TABLE recon_sim AS SELECT * FROM recon_sim_arrow")
    con.unregister("recon_sim_arrow")
    return " + ".join(f"coalesce(s.{label}, 0)" for label in sims) + f") / {100.0 * len(sims)}"


def _score(con: duckdb.DuckDBPyConnection, rule: Pass) -> None:
    wt = rule.weights
    amount = (
        "CASE WHEN c.allowed > 0 THEN 1 - 0.5 * CAST(abs(c.diff) AS DOUBLE) / "
        "CAST(c.allowed AS DOUBLE) WHEN c.diff = 0 THEN 1.0 ELSE 0.0 END"
    )
    date = f"1 - 0.5 * c.days / {rule.date_window_days + 1}.0"
    base = f"{wt.amount} * ({amount}) + {wt.date} * ({date})"
    join, fuzzy_ok = "", "TRUE"
    if rule.uses_fuzzy:
        text = "(" + _similarity(con, rule)
        join = "LEFT JOIN recon_sim s ON s.row = c.rowid"
        # recon_sim holds only the block pairs whose texts reach the minimums.
        fuzzy_ok = "(c.via_key OR s.row IS NOT NULL)"
        with_text = f"({base} + {wt.text} * CASE WHEN c.via_key THEN 1.0 ELSE {text} END)"
        score = f"{with_text} / {wt.amount + wt.date + wt.text}"
    else:
        score = (
            f"CASE WHEN c.via_key THEN ({base} + {wt.text}) / {wt.amount + wt.date + wt.text}"
            f" ELSE ({base}) / {wt.amount + wt.date} END"
        )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE recon_scored AS
        SELECT * FROM (SELECT c.gid, c.rid, c.diff, {score} AS score FROM recon_cand c {join}
                       WHERE {fuzzy_ok})
        WHERE score >= {rule.suggest_threshold}
    """)


def _resolve(con: duckdb.DuckDBPyConnection) -> int:
    """Greedy one-to-one by (score desc, gid, rid), in rounds of locally dominant pairs."""
    con.execute("CREATE OR REPLACE TEMP TABLE recon_chosen AS SELECT * FROM recon_scored LIMIT 0")
    while True:
        # The best pair of each unit on each side, by min() of (-score, other id); a pair that
        # is the best of both of its units is locally dominant.
        added = con.execute("""
            INSERT INTO recon_chosen
            WITH bl AS (SELECT gid, min({'s': -score, 'o': rid, 'diff': diff}) AS b
                        FROM recon_scored GROUP BY gid),
                 br AS (SELECT rid, min({'s': -score, 'o': gid}) AS b
                        FROM recon_scored GROUP BY rid)
            SELECT bl.gid, br.rid, bl.b.diff, -bl.b.s FROM bl JOIN br
            ON br.rid = bl.b.o AND br.b.o = bl.gid
        """).fetchall()
        if not added or not added[0][0]:
            break
        con.execute("""
            CREATE OR REPLACE TEMP TABLE recon_scored AS SELECT * FROM recon_scored s
            WHERE NOT EXISTS (SELECT 1 FROM recon_chosen c WHERE c.gid = s.gid)
              AND NOT EXISTS (SELECT 1 FROM recon_chosen c WHERE c.rid = s.rid)
        """)
        if not _count(con, "recon_scored"):
            break
    return _count(con, "recon_chosen")


def _record(con: duckdb.DuckDBPyConnection, rule: Pass) -> int:
    """Insert the chosen units' match rows; return how many."""
    status = f"CASE WHEN score >= {rule.auto_threshold} THEN 'auto' ELSE 'suggested' END"
    if rule.kind is PassKind.MANY_TO_ONE:
        rows = f"""
            WITH mem AS (SELECT o.id AS left_id, c.* FROM recon_chosen c JOIN recon_open_left o
                         ON o.{rule.group_by} = c.gid AND o.kind IN ({_kinds(rule)})),
                 names AS (SELECT gid, '{MATCH_ID_PREFIX}' || chr(31) || any_value(rid) || chr(31)
                                  || string_agg(left_id, chr(31) ORDER BY left_id) AS name
                           FROM mem GROUP BY gid)
            SELECT mem.left_id, mem.rid, mem.score, mem.diff, names.name
            FROM mem JOIN names USING (gid)
        """
    elif rule.kind is PassKind.ONE_TO_MANY:
        rows = f"""
            WITH mem AS (SELECT o.id AS right_id, c.* FROM recon_chosen c JOIN recon_open_right o
                         ON o.{rule.group_by} = c.rid),
                 names AS (SELECT rid, '{MATCH_ID_PREFIX}' || chr(31)
                                  || string_agg(right_id, chr(30) ORDER BY right_id) || chr(31)
                                  || any_value(gid) AS name
                           FROM mem GROUP BY rid)
            SELECT mem.gid AS left_id, mem.right_id AS rid, mem.score, mem.diff, names.name
            FROM mem JOIN names USING (rid)
        """
    else:
        rows = (
            f"SELECT c.gid AS left_id, c.rid, c.score, c.diff, '{MATCH_ID_PREFIX}' || "
            "chr(31) || c.rid || chr(31) || c.gid AS name FROM recon_chosen c"
        )
    (inserted,) = _one(
        con,
        f"""
        INSERT INTO recon_matches
        SELECT {_uuid5_format("h")}, left_id, rid, '{_q(rule.name)}', score, {status}, diff
        FROM (SELECT *, {_sha1("name")} AS h FROM ({rows}))
    """,
    )
    return int(inserted)


def _sha1(name: str) -> str:
    return f"sha1(unhex('{ids.NAMESPACE.hex}') || encode({name}))"


def _uuid5_format(h: str) -> str:
    """RFC 4122 version 5 from a SHA-1 hex digest, as :func:`recoup.domain.ids.uuid5_str`:
    version nibble 5, variant bits 10 (a unit test holds the two equal)."""
    return (
        f"substr({h}, 1, 8) || '-' || substr({h}, 9, 4) || '-5' || substr({h}, 14, 3) || '-' || "
        f"substr('89ab89ab89ab89ab', instr('0123456789abcdef', substr({h}, 17, 1)), 1) || "
        f"substr({h}, 18, 3) || '-' || substr({h}, 21, 12)"
    )


def decimal_literal(value: Decimal, precision: int, scale: int) -> str:
    return f"CAST('{value:f}' AS DECIMAL({precision},{scale}))"


def _three_way(con: duckdb.DuckDBPyConnection, rule: Pass) -> dict[str, Any]:
    """Attach an open order to the match of the payment that paid it (an identifier key from
    the order to the payment, amounts within tolerance, dates within the window)."""
    fraction = decimal_literal(rule.amount_percent / 100, 38, 12)
    absolute = decimal_literal(rule.amount_absolute, 38, 12)
    payment_kinds = ", ".join(f"'{k}'" for k in rule.payment_kinds)
    w = rule.date_window_days
    sources = [
        f"SELECT o.id AS gid, p.id AS pid, {i} AS key_rank FROM recon_open_left o "
        f"JOIN recon_left p ON o.{k.left_field} = p.{k.right_field} "
        f"WHERE o.kind = 'order' AND p.kind IN ({payment_kinds})"
        for i, k in enumerate(rule.keys)
    ]
    union = " UNION ALL ".join(sources)
    wt = rule.weights
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE recon_scored AS
        SELECT gid, rid, diff, ({wt.amount} * (CASE WHEN allowed > 0 THEN 1 - 0.5 *
               CAST(abs(diff) AS DOUBLE) / CAST(allowed AS DOUBLE) WHEN diff = 0 THEN 1.0
               ELSE 0.0 END) + {wt.date} * (1 - 0.5 * days / {w + 1}.0) + {wt.text})
               / {wt.amount + wt.date + wt.text} AS score
        FROM (SELECT DISTINCT ON (c.gid, c.pid) c.gid, c.pid AS rid, p.amount - o.amount AS diff,
                     {absolute} + {fraction} * CAST(abs(o.amount) AS DECIMAL(38,4)) AS allowed,
                     abs(p.date - o.date) AS days
              FROM ({union}) c JOIN recon_left o ON o.id = c.gid JOIN recon_left p ON p.id = c.pid
              JOIN recon_matches m ON m.left_id = c.pid
              WHERE o.currency = p.currency ORDER BY c.gid, c.pid, c.key_rank)
        WHERE abs(diff) <= allowed AND days <= {w}
    """)
    con.execute(f"DELETE FROM recon_scored WHERE score < {rule.suggest_threshold}")
    _resolve(con)
    status = f"CASE WHEN c.score >= {rule.auto_threshold} THEN 'auto' ELSE 'suggested' END"
    con.execute(f"""
        INSERT INTO recon_matches
        SELECT m.match_id, c.gid, m.right_id, '{_q(rule.name)}', c.score, {status}, c.diff
        FROM recon_chosen c JOIN recon_matches m ON m.left_id = c.rid
    """)
    matched = _count(con, f"recon_matches WHERE rule = '{_q(rule.name)}'")
    return {"candidates": _count(con, "recon_scored"), "matched_right": 0, "matched_left": matched}


def _collect(
    con: duckdb.DuckDBPyConnection, rules: Rules, explain_breaks: bool
) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    matches = con.sql("""
        SELECT match_id, left_id, right_id, rule, score, status,
               count(*) OVER (PARTITION BY match_id) AS group_size, amount_diff
        FROM recon_matches
    """).to_arrow_table()
    matches = matches.cast(_MATCH_SCHEMA)
    broken = _breaks(con, rules) if explain_breaks else BREAK_SCHEMA.empty_table()
    unmatched_left = con.sql("SELECT id FROM recon_open_left").to_arrow_table()
    unmatched_right = con.sql("SELECT id FROM recon_open_right").to_arrow_table()
    return matches, broken, unmatched_left, unmatched_right


DUPLICATE_KEY = {
    side: " || '|' || ".join(f"trim(coalesce({c}, ''))" for c in columns)
    for side, columns in (("left", ("reference", "payment_ref", "end_to_end")),
                          ("right", ("reference", "end_to_end", "payout_ref")))
}  # fmt: skip
"""What makes two records on one side the same record: their identifiers, with the amount,
currency and date. Records with no identifier at all (two customers paying the same amount on
the same day) are never duplicates."""


def _breaks(con: duckdb.DuckDBPyConnection, rules: Rules) -> pa.Table:
    """One row per field that explains why an unmatched record found no match, against its
    nearest unmatched counterpart (an identifier in common first, then same currency, closest
    amount, closest date, smallest id); ``expected`` is always the left value and ``actual``
    the right one. An unmatched record with a twin on its own side is a ``duplicate``."""
    flat = [p for p in rules.passes if p.kind is not PassKind.THREE_WAY]
    absolute = max((p.amount_absolute + p.fee_absolute for p in flat), default=Decimal(0))
    percent = max((p.amount_percent + p.fee_percent for p in flat), default=Decimal(0))
    window = max(p.date_window_days for p in rules.passes)
    search = window + BREAK_SEARCH_EXTRA_DAYS
    mins = [p.reference_min for p in rules.passes if p.reference_min is not None]
    ref_min = min(mins) if mins else DEFAULT_REFERENCE_MIN
    keys = sorted(
        {
            (k.left_field, k.right_field)
            for p in flat
            for k in p.keys
            if not k.is_amount_block and not k.in_text
        }
    )
    for side, column in (("left", "left_id"), ("right", "right_id")):
        # Twins share (currency, amount, date): only those rows build the identifier text.
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE recon_dup_{side} AS
            WITH c AS (SELECT currency, amount, date FROM recon_{side} GROUP BY ALL
                       HAVING count(*) > 1),
                 s AS (SELECT id, currency, amount, date, {DUPLICATE_KEY[side]} AS ref,
                              id IN (SELECT {column} FROM recon_matches) AS matched
                       FROM recon_{side} SEMI JOIN c USING (currency, amount, date)
                       WHERE {DUPLICATE_KEY[side]} <> '||'),
                 g AS (SELECT currency, amount, date, ref FROM s GROUP BY ALL HAVING count(*) > 1),
                 d AS (SELECT s.* FROM s SEMI JOIN g USING (currency, amount, date, ref))
            SELECT a.id, substr(min(CASE WHEN b.matched THEN '0' ELSE '1' END || b.id), 2) AS twin
            FROM d a JOIN d b USING (currency, amount, date, ref)
            WHERE a.id <> b.id AND NOT a.matched GROUP BY a.id
        """)
    converted = (
        "CASE WHEN fx_rate IS NULL THEN amount ELSE CAST(CAST(amount AS DECIMAL(38,4)) * "
        "CAST(fx_rate AS DECIMAL(38,8)) AS DECIMAL(18,4)) END"
    )
    # The pair search joins and groups tens of millions of pairs at scale: on numbers, not the
    # ids' text. A record's number follows its id's order, so "smallest id" is unchanged.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE recon_bl AS
        SELECT row_number() OVER (ORDER BY id) AS gid, id AS lid_text, {converted} AS eamt,
               CASE WHEN fx_rate IS NULL THEN currency END AS currency, date AS date_lo,
               date AS date_hi,
               {decimal_literal(absolute, 38, 12)} + {decimal_literal(percent / 100, 38, 12)}
               * CAST(abs({converted}) AS DECIMAL(38,4)) AS allowed,
               currency AS lcur, fx_rate, reference AS lref, kind
        FROM recon_open_left
    """)
    con.execute(
        "CREATE OR REPLACE TEMP VIEW recon_bl_units AS "
        "SELECT *, allowed AS allow_lo, allowed AS allow_hi FROM recon_bl"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE recon_brn AS SELECT row_number() OVER (ORDER BY id) AS rid, "
        "id AS rid_text, amount, currency, date AS date_lo, date AS date_hi FROM recon_open_right"
    )
    con.execute("CREATE OR REPLACE TEMP VIEW recon_br_units AS SELECT * FROM recon_brn")
    residual = (
        "(l.currency IS NULL OR l.currency = r.currency) AND abs(r.amount - l.eamt) <= "
        f"l.allow_hi AND r.date_lo BETWEEN l.date_lo - {search} AND l.date_hi + {search}"
    )
    # A pair found by the band and by a key appears twice (via_key FALSE and TRUE): the
    # nearest-counterpart choice below prefers the key row, and nothing else counts pairs.
    pair = (
        "{l}.lcur = r.currency OR {l}.fx_rate IS NOT NULL AS comparable, "
        "r.amount - {l}.eamt AS diff, abs(r.{rdate} - {l}.date_lo) AS days"
    )
    band = _band_pairs(
        con,
        "recon_bl_units",
        "recon_br_units",
        search,
        residual,
        "l.gid AS lid, r.rid, FALSE AS via_key, " + pair.format(l="l", rdate="date_lo"),
    )
    sources = [band]
    sources += [
        f"SELECT b.gid, n.rid, TRUE, {pair.format(l='b', rdate='date')} FROM recon_open_left l "
        f"JOIN recon_open_right r ON l.{lf} = r.{rf} JOIN recon_bl b ON b.lid_text = l.id "
        "JOIN recon_brn n ON n.rid_text = r.id"
        for lf, rf in keys
    ]
    con.execute(f"CREATE OR REPLACE TEMP TABLE recon_bpairs AS {' UNION ALL '.join(sources)}")
    rows = []
    for side, item, other in (("left", "lid", "rid"), ("right", "rid", "lid")):
        # Nearest first: an identifier in common, comparable currency (NULL last), closest
        # amount, closest date, smallest id; min() of a struct orders field by field.
        # Every record with a pair, and its nearest: those without one miss a counterpart.
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE recon_best_{side} AS
            SELECT {item}, min({{'v': NOT via_key, 'c': NOT comparable, 'd': abs(diff),
                                't': days, 'o': {other}, 'via_key': via_key,
                                'comparable': comparable, 'diff': diff}}) AS best
            FROM recon_bpairs GROUP BY {item}
        """)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE recon_near AS
            WITH n AS (SELECT {item}, best.o AS {other}, best.via_key AS via_key,
                              best.comparable AS comparable, best.diff AS diff, best.t AS days
                       FROM recon_best_{side})
            SELECT b.lid_text AS lid, rn.rid_text AS rid, n.via_key, n.comparable, n.diff,
                   n.days, b.allowed, b.lref, r.reference AS rref, b.kind, b.lcur,
                   r.currency AS rcur, b.eamt, r.amount AS ramount, b.date_lo AS ldate,
                   r.date AS rdate
            FROM n JOIN recon_bl b ON b.gid = n.lid
            JOIN recon_brn rn ON rn.rid = n.rid
            JOIN recon_open_right r ON r.id = rn.rid_text
            WHERE NOT EXISTS (SELECT 1 FROM recon_dup_{side} d WHERE d.id = {item}_text)
        """)
        _reference_similarity(con)
        rows.append(_reasons_sql(side, item, other, window, ref_min))
        rows.append(
            f"SELECT id, '{side}', 'duplicate', 'record', twin, id, twin "
            f"FROM recon_dup_{side} WHERE id IN (SELECT id FROM recon_open_{side})"
        )
        described = (
            "CAST(o.amount AS VARCHAR) || ' ' || o.currency || ' on ' || CAST(o.date AS VARCHAR)"
            " || coalesce(' ref ' || o.reference, '')"
        )
        what = f"{described}, NULL" if side == "left" else f"NULL, {described}"
        numbered, number = (
            ("recon_bl n ON n.lid_text", "gid")
            if side == "left"
            else ("recon_brn n ON n.rid_text", "rid")
        )
        rows.append(f"""SELECT o.id, '{side}', 'missing_counterpart', 'counterpart', {what}, NULL
            FROM recon_open_{side} o JOIN {numbered} = o.id
            WHERE NOT EXISTS (SELECT 1 FROM recon_dup_{side} d WHERE d.id = o.id)
            AND NOT EXISTS (SELECT 1 FROM recon_best_{side} p WHERE p.{item} = n.{number})""")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE recon_breaks_{side} AS {' UNION ALL '.join(rows[-3:])}"
        )
    return (
        con.sql("SELECT * FROM recon_breaks_left UNION ALL SELECT * FROM recon_breaks_right")
        .to_arrow_table()
        .rename_columns(BREAK_SCHEMA.names)
    )


def _reference_similarity(con: duckdb.DuckDBPyConnection) -> None:
    """Add ``ref_sim`` (0..100, 0 when either side lacks a reference) to ``recon_near``."""
    pairs = con.sql("SELECT lid, rid, lref, rref FROM recon_near").to_arrow_table()
    values = process.cpdist(
        pairs["lref"].fill_null("").to_pylist(),
        pairs["rref"].fill_null("").to_pylist(),
        scorer=fuzz.token_set_ratio,
        processor=utils.default_process,
        workers=-1,
    )
    absent = np.asarray(pairs["lref"].is_null()) | np.asarray(pairs["rref"].is_null())
    sims = pa.array(np.where(absent, 0.0, np.asarray(values, dtype=np.float64)))
    con.register(
        "recon_near_sim", pa.table({"lid": pairs["lid"], "rid": pairs["rid"], "ref_sim": sims})
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE recon_near AS SELECT n.*, s.ref_sim FROM recon_near n "
        "JOIN recon_near_sim s USING (lid, rid)"
    )
    con.unregister("recon_near_sim")


def _reasons_sql(side: str, item: str, other: str, window: int, ref_min: float) -> str:
    """A field is reported when it is beyond the loosest pass (hard); when no field is, every
    field that differs at all is reported (soft: why the score stayed under the threshold)."""
    hard = {
        "currency": "NOT comparable",
        "amount": "comparable AND abs(diff) > allowed",
        "date": f"days > {window}",
        "reference": f"lref IS NOT NULL AND rref IS NOT NULL AND ref_sim < {ref_min}",
    }
    soft = {
        "currency": "FALSE",
        "amount": "comparable AND diff <> 0",
        "date": "days > 0",
        "reference": "lref IS DISTINCT FROM rref",
    }
    any_hard = " OR ".join(f"({c})" for c in hard.values())
    any_soft = " OR ".join(f"({c})" for c in soft.values())
    values = {
        "currency": "lcur, rcur",
        "amount": "CAST(eamt AS VARCHAR), CAST(ramount AS VARCHAR)",
        "date": "CAST(ldate AS VARCHAR), CAST(rdate AS VARCHAR)",
        "reference": "lref, rref",
    }
    parts = []
    for fld, cond in hard.items():
        reason = (
            "CASE WHEN diff > 0 THEN 'amount_over' ELSE 'amount_under' END"
            if fld == "amount"
            else f"'{fld}'"
        )
        parts.append(
            f"SELECT {item}, '{side}', {reason}, '{fld}', {values[fld]}, {other} "
            f"FROM recon_near WHERE ({cond}) OR (NOT ({any_hard}) AND ({soft[fld]}))"
        )
    parts.append(
        f"SELECT {item}, '{side}', 'missing_counterpart', 'kind', 'a pass for this kind', "
        f"kind, {other} FROM recon_near WHERE NOT ({any_hard}) AND NOT ({any_soft})"
    )
    return " UNION ALL ".join(parts)


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    (count,) = _one(con, f"SELECT count(*) FROM {relation}")
    return int(count)


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The single row of ``sql``, fetched to the end (DuckDB keeps an unfinished result open)."""
    rows = con.execute(sql).fetchall()
    return tuple(rows[0])


def _q(text: str) -> str:
    return text.replace("'", "''")


def _drop(con: duckdb.DuckDBPyConnection) -> None:
    for name, kind in con.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_name LIKE 'recon\\_%' ESCAPE '\\'"
    ).fetchall():
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {name}")
    for name in ("recon_left_arrow", "recon_right_arrow"):
        with contextlib.suppress(duckdb.Error):
            con.unregister(name)


__all__ = ["LEFT_COLUMNS", "RIGHT_COLUMNS", "ReconcileResult", "reconcile"]
