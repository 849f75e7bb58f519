"""A seeded reconciliation dataset with ground truth, for the quality and speed benches and tests.

Two sides in the engine's schemas (``LEFT_SCHEMA``: what we expect; ``RIGHT_SCHEMA``: bank lines):

- **Invoices** paid by direct bank transfer, one bank line each; some carry an end-to-end id on
  both sides, the others are found by their (noisy) reference, amount, date and name.
- **Orders** for a share of the paid invoices (three-way: order, invoice, bank line share a
  ``payment_ref``); ``order_reference_share`` of those bank lines quote the order number instead
  of the invoice's (noise "order_reference"; off by default).
- **PSP payouts**: charges, refunds, fees and adjustments grouped by ``payout_ref``; the payout's
  bank line equals their exact sum (many-to-one). Some bank lines name the payout only in text.
- **Orphans** on both sides: invoices never paid, bank lines nobody expected (some quote last
  year's invoice numbers, which differ from this year's by one character).

Each invoice gets at most one noise kind (``INVOICE_NOISE``), so quality can be reported per
kind; every bank line is also shifted 0-3 days (``date_shift_weights``) independently of it.

The truth is ``truth`` (one row per (left_id, right_id) pair that belongs together, with its
``match_group``, ``pattern`` and ``noise``) and ``unmatched`` (records with no counterpart; a
duplicated bank line names the line it repeats in ``duplicate_of``: matching the invoice to the
copy instead of the original is equally right).

Everything is vectorised with numpy and pyarrow compute, except the text of noisy references
(a few percent of rows); 1,000,000 payments take a few seconds. Rows are shuffled and ids are
given after the shuffle, so neither row order nor id order gives the truth away.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recoup.domain.errors import InvalidInputError

_STR = pa.string()
AMOUNT = pa.decimal128(18, 4)
FX_RATE = pa.decimal128(18, 8)

LEFT_SCHEMA = pa.schema(
    [
        pa.field("id", _STR, nullable=False), ("kind", _STR), ("amount", AMOUNT),
        ("currency", _STR), ("date", pa.date32()), ("reference", _STR), ("name", _STR),
        ("payment_ref", _STR), ("payout_ref", _STR), ("end_to_end", _STR), ("fx_rate", FX_RATE),
    ]
)  # fmt: skip
RIGHT_SCHEMA = pa.schema(
    [
        pa.field("id", _STR, nullable=False), ("amount", AMOUNT), ("currency", _STR),
        ("date", pa.date32()),
        ("reference", _STR), ("name", _STR), ("end_to_end", _STR), ("payout_ref", _STR),
        ("kind", _STR),
    ]
)  # fmt: skip
TRUTH_SCHEMA = pa.schema(
    [("left_id", _STR), ("right_id", _STR), ("match_group", _STR), ("pattern", _STR),
     ("noise", _STR)]
)  # fmt: skip
UNMATCHED_SCHEMA = pa.schema(
    [("item_id", _STR), ("side", _STR), ("reason", _STR), ("duplicate_of", _STR)]
)

#: Noise kinds of an invoice (exclusive); "clean" takes what the configured rates leave.
INVOICE_NOISE = (
    "clean", "reference_typo", "reference_truncated", "reference_extra", "bank_fee", "fx",
    "partial", "duplicate", "orphan_left",
)  # fmt: skip
#: Noise kinds of a payout group: its bank line carries payout_ref, or names it in text only.
PAYOUT_NOISE = ("payout", "payout_ref_in_text")

# Currencies of the books (share) and an indicative rate to EUR; FX moves a payment from its
# currency into EUR (or EUR into USD).
_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK")
_CURRENCY_SHARE = (0.62, 0.18, 0.1, 0.05, 0.05)
_TO_EUR = (1.0, 0.92, 1.17, 1.06, 0.088)
_EUR_TO_USD = 1.087
_MEMBER_KINDS = ("charge", "refund", "fee", "adjustment")
_MEMBER_SHARE = (0.84, 0.06, 0.09, 0.01)
_PSPS = ("STRIPE", "ADYEN", "PAYPAL")
_PSP_NAMES = ("STRIPE PAYMENTS EUROPE LTD", "ADYEN N.V.", "PAYPAL EUROPE S.A R.L.")
_NAME_A = (
    "Acme", "Nordic", "Blue", "Granite", "Harbor", "Lumen", "Maple", "Orbit", "Pioneer", "Quartz",
    "Riverside", "Summit", "Tandem", "Vertex", "Willow", "Atlas", "Beacon", "Cedar", "Delta",
    "Ember", "Falcon", "Golden", "Helios", "Iris", "Juniper", "Kestrel", "Linden", "Meridian",
)  # fmt: skip
_NAME_B = (
    "Trading", "Logistics", "Foods", "Software", "Textiles", "Motors", "Pharma", "Studios",
    "Consulting", "Garden", "Energy", "Optics", "Retail", "Print", "Dental", "Bakery",
)  # fmt: skip
_NAME_C = ("GmbH", "Ltd", "SA", "BV", "AB", "Inc", "SARL", "Oy", "AG", "LLC", "Srl", "ApS")
_PREFIXES = (
    "PAYMENT ", "INVOICE ", "SEPA CT ", "RE: ", "/RFB/", "ZAHLUNG RE ", "FACTURE ",
    "PAYMENT FOR INVOICE ", "OUR REF ",
)  # fmt: skip
_SUFFIXES = (" THANK YOU", " /CUST", " PAYMENT", " ACCOUNT 2", " ONLINE BANKING", "")
_ORPHAN_REFS = (
    "SALARY ADVANCE", "RENT OFFICE", "INTEREST", "TAX REFUND", "CASH DEPOSIT", "INTERNAL TRANSFER",
)  # fmt: skip
_CODE_ALPHABET = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", dtype=np.uint8)
_LOOKALIKE = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "8": "B", "2": "Z"}


@dataclass(frozen=True)
class SyntheticSpec:
    """Sizes and rates. ``payments`` counts left money records (invoices and payout members);
    orders come on top. Noise rates are shares of invoices; ``orphan_right`` adds that share of
    ``payments`` as unexpected bank lines."""

    payments: int = 10_000
    seed: int = 2026
    start: date = date(2026, 1, 1)
    days: int = 90
    payout_share: float = 0.2
    payout_size: float = 8.0
    order_share: float = 0.1
    order_reference_share: float = 0.0
    end_to_end_share: float = 0.3
    payout_ref_share: float = 0.7
    reference_typo: float = 0.03
    reference_truncated: float = 0.02
    reference_extra: float = 0.15
    bank_fee: float = 0.02
    fx: float = 0.03
    partial: float = 0.005
    duplicate: float = 0.005
    orphan_left: float = 0.01
    orphan_right: float = 0.01
    date_shift_weights: tuple[float, float, float, float] = (0.55, 0.25, 0.12, 0.08)
    bank_fee_max: Decimal = Decimal("2.50")
    fx_spread_max: float = 0.01

    def noise_rates(self) -> tuple[float, ...]:
        """Probabilities of ``INVOICE_NOISE`` in order (clean first)."""
        rates = tuple(getattr(self, kind) for kind in INVOICE_NOISE[1:])
        if any(r < 0 for r in rates) or sum(rates) > 1:
            raise InvalidInputError(f"SyntheticSpec noise rates must be >= 0 and sum <= 1: {rates}")
        return (1 - sum(rates), *rates)


@dataclass(frozen=True)
class SyntheticDataset:
    left: Any  # pa.Table, LEFT_SCHEMA
    right: Any  # pa.Table, RIGHT_SCHEMA
    truth: Any  # pa.Table, TRUTH_SCHEMA
    unmatched: Any  # pa.Table, UNMATCHED_SCHEMA
    spec: SyntheticSpec


def generate(spec: SyntheticSpec) -> SyntheticDataset:
    """The dataset for ``spec``; the same spec always gives the same tables."""
    if spec.payments < 1 or not 0 <= spec.payout_share <= 1 or spec.payout_size < 1:
        raise InvalidInputError(f"SyntheticSpec sizes out of range: {spec}")
    rng = np.random.default_rng(spec.seed)
    text_rng = random.Random(int(rng.integers(2**62)))
    n_psp = round(spec.payments * spec.payout_share)
    build = _Build(spec, rng, text_rng)
    build.invoices(spec.payments - n_psp)
    build.payouts(n_psp)
    build.orphan_lines(round(spec.payments * spec.orphan_right))
    return build.finish()


# --- vectorised helpers -------------------------------------------------------------------


def _decimal(units: np.ndarray, type_: Any) -> Any:
    """An Arrow decimal array from int64 counts of the type's smallest unit (exact)."""
    units = np.ascontiguousarray(units, dtype=np.int64)
    words = np.empty((len(units), 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63
    return pa.Array.from_buffers(type_, len(units), [None, pa.py_buffer(words)])


def _numbered(prefix: str, numbers: np.ndarray, width: int) -> Any:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), _STR), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _codes(rng: np.random.Generator, prefix: str, n: int, width: int) -> Any:
    """``n`` random upper-case codes (ids as PSPs and banks make them)."""
    chars = _CODE_ALPHABET[rng.integers(0, len(_CODE_ALPHABET), size=(n, width))]
    raw = pa.array(np.ascontiguousarray(chars).view(f"S{width}").ravel()).cast(_STR)
    return pc.binary_join_element_wise(prefix, raw, "")


def _pick(pool: tuple[str, ...], index: np.ndarray) -> Any:
    return pc.take(pa.array(pool, _STR), pa.array(index, pa.int64()))


def _dates(start: date, day: np.ndarray) -> Any:
    epoch = (start - date(1970, 1, 1)).days
    return pa.array((day + epoch).astype(np.int32)).cast(pa.date32())


def _cents(rng: np.random.Generator, n: int, mu: float = 5.0, sigma: float = 1.1) -> np.ndarray:
    """Lognormal amounts in cents (median about exp(mu)), at least 1.00."""
    return np.maximum(np.round(np.exp(rng.normal(mu, sigma, n)) * 100), 100).astype(np.int64)


def _const(value: str, n: int) -> Any:
    return pa.repeat(pa.scalar(value, _STR), n)


def _nulls(n: int, type_: Any = _STR) -> Any:
    return pa.nulls(n, type_)


# --- reference noise (Python, on the noisy few percent only) -------------------------------


def _typo(ref: str, r: random.Random) -> str:
    """One slip of the keyboard or of the eye; never a no-op."""
    for _ in range(20):
        typo = _one_typo(ref, r)
        if typo != ref:
            return typo
    return ref + "X"


def _one_typo(ref: str, r: random.Random) -> str:
    i = r.randrange(len(ref))
    match r.randrange(4):
        case 0:
            return ref[:i] + ref[i + 1 :]
        case 1:
            i = min(i, len(ref) - 2)
            return ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :]
        case 2:
            char = _LOOKALIKE.get(ref[i], r.choice("0123456789"))
            return ref[:i] + char + ref[i + 1 :]
        case _:
            return ref.replace("-", "", 1) if "-" in ref else ref[:i] + " " + ref[i:]


def _noisy(kind: str, ref: str, r: random.Random) -> str:
    if kind == "reference_typo":
        return _typo(ref, r)
    if kind == "reference_truncated":
        return (r.choice(_PREFIXES) + ref)[: -r.randint(1, 3)]
    return r.choice(_PREFIXES) + ref + r.choice(_SUFFIXES)


class _Build:
    """Accumulates the parts of both sides (in generation order) and the truth, by row index."""

    def __init__(self, spec: SyntheticSpec, rng: np.random.Generator, text: random.Random):
        self.spec, self.rng, self.text = spec, rng, text
        self.left: list[dict[str, Any]] = []
        self.right: list[dict[str, Any]] = []
        self.n_left = self.n_right = 0
        # truth in row indices: (left_row, right_row, group, pattern, noise)
        self.pairs: list[tuple[np.ndarray, np.ndarray, Any, Any, Any]] = []
        self.unmatched: list[tuple[np.ndarray, str, str, np.ndarray | None]] = []
        self.n_groups = 0

    def _add(self, side: str, **cols: Any) -> np.ndarray:
        n = len(next(iter(cols.values())))
        if side == "left":
            self.left.append(cols)
            rows, self.n_left = np.arange(self.n_left, self.n_left + n), self.n_left + n
        else:
            self.right.append(cols)
            rows, self.n_right = np.arange(self.n_right, self.n_right + n), self.n_right + n
        return rows

    def _groups(self, n: int) -> np.ndarray:
        ids, self.n_groups = np.arange(self.n_groups, self.n_groups + n), self.n_groups + n
        return ids

    def _shift(self, n: int) -> np.ndarray:
        weights = np.asarray(self.spec.date_shift_weights, dtype=float)
        return self.rng.choice(4, size=n, p=weights / weights.sum())

    def invoices(self, n: int) -> None:
        spec, rng = self.spec, self.rng
        noise = rng.choice(len(INVOICE_NOISE), size=n, p=spec.noise_rates())
        kind = np.asarray(INVOICE_NOISE)[noise]
        ccy = rng.choice(len(_CURRENCIES), size=n, p=_CURRENCY_SHARE)
        cents = _cents(rng, n)
        due = rng.integers(0, spec.days, size=n)
        customers = max(n // 6, 1)
        customer = rng.integers(0, customers, size=n)
        name_parts = [rng.integers(0, len(pool), size=customers) for pool in (_NAME_A, _NAME_B)]
        name_c = rng.integers(0, len(_NAME_C), size=customers)
        names = pc.binary_join_element_wise(
            _pick(_NAME_A, name_parts[0][customer]), _pick(_NAME_B, name_parts[1][customer]),
            _pick(_NAME_C, name_c[customer]), " ",
        )  # fmt: skip
        numbers = rng.permutation(n) + 1
        invoice_no = _numbered("INV-2026-", numbers, 7)
        e2e_mask = rng.random(n) < spec.end_to_end_share
        e2e = pc.if_else(pa.array(e2e_mask), _codes(rng, "E2E", n, 16), _nulls(n))
        paid = kind != "orphan_left"
        is_fx = kind == "fx"
        # fx: books in the invoice currency; the bank account in EUR (or USD for EUR invoices)
        base_rate = np.where(ccy == 0, _EUR_TO_USD, np.asarray(_TO_EUR)[ccy])
        rate = np.round(base_rate * (1 + rng.normal(0, 0.004, n)), 8)
        rate_units = np.where(is_fx, np.round(rate * 1e8), 0).astype(np.int64)
        fx_rate = pc.if_else(pa.array(is_fx), _decimal(rate_units, FX_RATE), _nulls(n, FX_RATE))
        inv_rows = self._add(
            "left", id=_const("inv_", n), kind=_const("invoice", n),
            amount=_decimal(cents * 100, AMOUNT), currency=_pick(_CURRENCIES, ccy),
            date=_dates(spec.start, due), reference=invoice_no, name=names,
            payment_ref=_numbered("PAY-", numbers, 8), payout_ref=_nulls(n), end_to_end=e2e,
            fx_rate=fx_rate,
        )  # fmt: skip
        group = self._groups(n)

        # orders (three-way) for a share of paid invoices
        has_order = paid & (rng.random(n) < spec.order_share)
        o = np.flatnonzero(has_order)
        order_no = _numbered("SO-", rng.permutation(len(o)) + 100001, 6)
        order_rows = self._add(
            "left", id=_const("ord_", len(o)),
            kind=_const("order", len(o)),
            amount=_decimal(cents[o] * 100, AMOUNT), currency=_pick(_CURRENCIES, ccy[o]),
            date=_dates(spec.start, due[o] - rng.integers(0, 8, len(o))), reference=order_no,
            name=names.take(pa.array(o)), payment_ref=_numbered("PAY-", numbers[o], 8),
            payout_ref=_nulls(len(o)), end_to_end=_nulls(len(o)), fx_rate=_nulls(len(o), FX_RATE),
        )  # fmt: skip
        quoted = invoice_no
        cites_order = np.zeros(n, bool)
        if len(o):
            cites_order[o] = rng.random(len(o)) < spec.order_reference_share
            order_full = pa.array(np.full(n, None, object), _STR)
            order_full = pc.replace_with_mask(order_full, pa.array(has_order), order_no)
            quoted = pc.if_else(pa.array(cites_order), order_full, invoice_no)

        # the first bank line of each paid invoice
        p = np.flatnonzero(paid)
        amount = cents[p].copy()
        fee_max = int(spec.bank_fee_max * 100)
        fee = np.minimum(rng.integers(10, max(fee_max, 10) + 1, len(p)), amount // 2)
        amount = np.where(kind[p] == "bank_fee", amount - fee, amount)
        spread = rng.uniform(0, spec.fx_spread_max, len(p))
        fx_amount = np.round(cents[p] * rate[p] * (1 - spread)).astype(np.int64)
        amount = np.where(is_fx[p], fx_amount, amount)
        bank_ccy = np.where(is_fx[p], np.where(ccy[p] == 0, 1, 0), ccy[p])
        partial = kind[p] == "partial"
        share = rng.uniform(0.3, 0.7, len(p))
        first_part = np.round(cents[p] * share).astype(np.int64)
        amount = np.where(partial, first_part, amount)
        refs = self._references(quoted.take(pa.array(p)), kind[p])
        upper = pc.utf8_upper(names.take(pa.array(p)))
        short = pa.array(rng.random(len(p)) < 0.15)
        bank_names = pc.if_else(short, pc.utf8_slice_codeunits(upper, 0, 20), upper)
        shift = self._shift(len(p))
        line = dict(
            amount=_decimal(amount * 100, AMOUNT), currency=_pick(_CURRENCIES, bank_ccy),
            date=_dates(spec.start, due[p] + shift), reference=refs, name=bank_names,
            end_to_end=e2e.take(pa.array(p)), payout_ref=_nulls(len(p)),
            kind=_const("bank_line", len(p)),
        )  # fmt: skip
        first = self._add("right", id=_const("bl_", len(p)), **line)

        # the second bank line: the rest of a partial payment, or an exact duplicate
        second_mask = partial | (kind[p] == "duplicate")
        s = np.flatnonzero(second_mask)
        rest = cents[p][s] - first_part[s]
        later = due[p][s] + shift[s] + rng.integers(5, 21, len(s))
        is_partial = partial[s]
        second_line = {k: v.take(pa.array(s)) for k, v in line.items()}
        second_line["amount"] = pc.if_else(
            pa.array(is_partial), _decimal(rest * 100, AMOUNT), second_line["amount"]
        )
        second_line["date"] = pc.if_else(
            pa.array(is_partial), _dates(spec.start, later), second_line["date"]
        )
        second = self._add("right", id=_const("bl_", len(s)), **second_line)
        dup = ~is_partial
        self.unmatched.append((second[dup], "right", "duplicate", first[s][dup]))
        self.unmatched.append((inv_rows[~paid], "left", "orphan", None))

        # truth: invoice x its lines, order x the same lines
        kind = np.where(cites_order, "order_reference", kind)
        pattern = np.where(partial, "one_to_many", "one_to_one")
        pattern = np.where(has_order[p], "three_way", pattern)
        self._pairs(inv_rows[p], first, group[p], pattern, kind[p])
        sp = p[s][is_partial]
        self._pairs(inv_rows[sp], second[is_partial], group[sp], pattern[s][is_partial], kind[sp])
        order_of = np.full(n, -1)
        order_of[o] = order_rows
        po = has_order[p]
        self._pairs(order_of[p][po], first[po], group[p][po], "three_way", kind[p][po])
        spo = sp[has_order[sp]]
        second_partial = second[is_partial][has_order[sp]]
        self._pairs(order_of[spo], second_partial, group[spo], "three_way", kind[spo])

    def _references(self, refs: Any, kind: np.ndarray) -> Any:
        noisy = np.isin(kind, ("reference_typo", "reference_truncated", "reference_extra"))
        idx = np.flatnonzero(noisy)
        if not len(idx):
            return refs
        originals = refs.take(pa.array(idx)).to_pylist()
        new = [_noisy(k, ref, self.text) for k, ref in zip(kind[idx], originals, strict=True)]
        return pc.replace_with_mask(refs, pa.array(noisy), pa.array(new, _STR))

    def _pairs(self, left: Any, right: Any, group: Any, pattern: Any, noise: Any) -> None:
        n = len(left)
        self.pairs.append(
            (np.asarray(left), np.asarray(right), np.broadcast_to(group, n),
             np.broadcast_to(np.asarray(pattern, object), n),
             np.broadcast_to(np.asarray(noise, object), n))
        )  # fmt: skip

    def payouts(self, n: int) -> None:
        if n == 0:
            return
        spec, rng = self.spec, self.rng
        guess = int(n / spec.payout_size * 1.5) + 10
        sizes = 1 + rng.poisson(spec.payout_size - 1, guess)
        ends = np.cumsum(sizes)
        count = int(np.searchsorted(ends, n)) + 1
        sizes = sizes[:count]
        sizes[-1] -= int(ends[count - 1] - n)
        member_group = np.repeat(np.arange(count), sizes)
        kind = rng.choice(len(_MEMBER_KINDS), size=n, p=_MEMBER_SHARE)
        cents = _cents(rng, n)
        signed = np.select(
            [kind == 0, kind == 1, kind == 2],
            [cents, -(cents // 2), -(cents * 14 // 1000 + 25)],
            np.where(rng.random(n) < 0.5, 1, -1) * (cents // 5),
        )
        totals = np.bincount(member_group, weights=signed, minlength=count)
        negative = totals[member_group] <= 0
        kind = np.where(negative, 0, kind)
        signed = np.where(negative, cents, signed).astype(np.int64)
        totals = np.zeros(count, np.int64)
        np.add.at(totals, member_group, signed)
        ccy = rng.choice(len(_CURRENCIES), size=count, p=_CURRENCY_SHARE)
        psp = rng.integers(0, len(_PSPS), count)
        day = rng.integers(7, spec.days + 7, count)
        payout_id = _codes(rng, "po_", count, 16)
        member_day = day[member_group] - rng.integers(1, 8, n)
        is_charge = np.isin(kind, (0, 1))
        pay_ref = pc.if_else(pa.array(is_charge), _codes(rng, "pi_", n, 16), _nulls(n))
        names = pc.binary_join_element_wise(
            _pick(_NAME_A, rng.integers(0, len(_NAME_A), n)),
            _pick(_NAME_B, rng.integers(0, len(_NAME_B), n)), " ",
        )  # fmt: skip
        members = self._add(
            "left", id=_pick(("ch_", "re_", "fee_", "adj_"), kind),
            kind=_pick(_MEMBER_KINDS, kind), amount=_decimal(signed * 100, AMOUNT),
            currency=_pick(_CURRENCIES, ccy[member_group]), date=_dates(spec.start, member_day),
            reference=_nulls(n), name=pc.if_else(pa.array(is_charge), names, _nulls(n)),
            payment_ref=pay_ref, payout_ref=payout_id.take(pa.array(member_group)),
            end_to_end=_nulls(n), fx_rate=_nulls(n, FX_RATE),
        )  # fmt: skip
        names_ref = rng.random(count) < spec.payout_ref_share
        lines = self._add(
            "right", id=_const("bl_", count),
            amount=_decimal(totals * 100, AMOUNT), currency=_pick(_CURRENCIES, ccy),
            date=_dates(spec.start, day + self._shift(count)),
            reference=pc.binary_join_element_wise(_pick(_PSPS, psp), "PAYOUT", payout_id, " "),
            name=_pick(_PSP_NAMES, psp), end_to_end=_nulls(count),
            payout_ref=pc.if_else(pa.array(names_ref), payout_id, _nulls(count)),
            kind=_const("bank_line", count),
        )  # fmt: skip
        group = self._groups(count)
        noise = np.where(names_ref, PAYOUT_NOISE[0], PAYOUT_NOISE[1])[member_group]
        self._pairs(members, lines[member_group], group[member_group], "many_to_one", noise)

    def orphan_lines(self, n: int) -> None:
        if n == 0:
            return
        spec, rng = self.spec, self.rng
        old_invoice = rng.random(n) < 0.3
        refs = pc.if_else(
            pa.array(old_invoice),
            _numbered("INV-2025-", rng.integers(1, 10_000_000, n), 7),
            pc.binary_join_element_wise(
                _pick(_ORPHAN_REFS, rng.integers(0, len(_ORPHAN_REFS), n)),
                _codes(rng, "", n, 6), " ",
            ),
        )  # fmt: skip
        rows = self._add(
            "right", id=_const("bl_", n),
            amount=_decimal(_cents(rng, n) * 100 * np.where(rng.random(n) < 0.2, -1, 1), AMOUNT),
            currency=_pick(_CURRENCIES, rng.choice(len(_CURRENCIES), n, p=_CURRENCY_SHARE)),
            date=_dates(spec.start, rng.integers(0, spec.days + 3, n)), reference=refs,
            name=pc.utf8_upper(pc.binary_join_element_wise(
                _pick(_NAME_A, rng.integers(0, len(_NAME_A), n)),
                _pick(_NAME_C, rng.integers(0, len(_NAME_C), n)), " ",
            )),
            end_to_end=_nulls(n), payout_ref=_nulls(n),
            kind=_const("bank_line", n),
        )  # fmt: skip
        self.unmatched.append((rows, "right", "orphan", None))

    def finish(self) -> SyntheticDataset:
        rng = self.rng
        left, left_ids, left_pos = _shuffle(rng, self.left, LEFT_SCHEMA, 7)
        right, right_ids, right_pos = _shuffle(rng, self.right, RIGHT_SCHEMA, 8)
        cat = [np.concatenate([np.asarray(p[i]) for p in self.pairs]) for i in range(5)]
        truth = pa.table(
            [left_ids.take(pa.array(left_pos[cat[0]])), right_ids.take(pa.array(right_pos[cat[1]])),
             _numbered("G", cat[2], 8), pa.array(cat[3], _STR), pa.array(cat[4], _STR)],
            schema=TRUTH_SCHEMA,
        )  # fmt: skip
        parts = []
        for rows, side, reason, of in self.unmatched:
            ids, pos = (left_ids, left_pos) if side == "left" else (right_ids, right_pos)
            k = len(rows)
            parts.append(
                pa.table(
                    [ids.take(pa.array(pos[rows])), _const(side, k),
                     _const(reason, k),
                     _nulls(k) if of is None else ids.take(pa.array(pos[of]))],
                    schema=UNMATCHED_SCHEMA,
                )
            )  # fmt: skip
        unmatched = pa.concat_tables(parts) if parts else UNMATCHED_SCHEMA.empty_table()
        return SyntheticDataset(left, right, truth.sort_by("left_id"), unmatched, self.spec)


def _shuffle(
    rng: np.random.Generator, parts: list[dict[str, Any]], schema: Any, width: int
) -> tuple[Any, Any, np.ndarray]:
    """The rows in random order with ids given after the shuffle: (table, ids in table order,
    the table position of each generated row). ``id`` holds each row's id prefix until now."""
    table = pa.concat_tables(
        [pa.table([part[f.name] for f in schema], schema=schema) for part in parts]
    )
    order = rng.permutation(table.num_rows)
    table = table.take(pa.array(order))
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    ids = pc.binary_join_element_wise(
        table.column("id").combine_chunks(),
        pc.utf8_lpad(pc.cast(pa.array(np.arange(len(order))), _STR), width=width, padding="0"),
        "",
    )
    table = table.set_column(0, pa.field("id", _STR, nullable=False), ids)
    return table.combine_chunks(), ids, position


# --- scoring an engine's pairs against the truth ------------------------------------------


@dataclass(frozen=True)
class PairScore:
    """True pairs, pairs found and the correct ones among them, for one noise kind (or all)."""

    kind: str
    truth: int
    found: int
    correct: int

    @property
    def precision(self) -> float | None:
        return self.correct / self.found if self.found else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.truth if self.truth else None


def score_pairs(data: SyntheticDataset, left_ids: Any, right_ids: Any) -> dict[str, PairScore]:
    """Score the pairs an engine made (two aligned id sequences) against ``data.truth``.

    A pair with a duplicated bank line counts as its original (either copy is right). Each
    found pair is charged to the noise kind of its left record's group, else of its right
    record's, else to "orphan_left"/"orphan_right"/"duplicate". Keys: "overall" and each kind.
    """
    unmatched = data.unmatched.to_pylist()
    original = {u["item_id"]: u["duplicate_of"] for u in unmatched if u["duplicate_of"]}
    alone = {u["item_id"]: f"orphan_{u['side']}" for u in unmatched if u["reason"] == "orphan"}
    alone.update(dict.fromkeys(original, "duplicate"))
    truth: dict[tuple[str, str], str] = {}
    left_kind: dict[str, str] = {}
    right_kind: dict[str, str] = {}
    for l_id, r_id, noise in zip(
        data.truth.column("left_id").to_pylist(), data.truth.column("right_id").to_pylist(),
        data.truth.column("noise").to_pylist(), strict=True,
    ):  # fmt: skip
        truth[(l_id, r_id)] = left_kind[l_id] = right_kind[r_id] = noise
    found: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for l_id, r_id in zip(_pylist(left_ids), _pylist(right_ids), strict=True):
        pair = (l_id, original.get(r_id, r_id))
        if pair in seen:
            continue
        seen.add(pair)
        kind = left_kind.get(l_id) or right_kind.get(r_id) or alone.get(l_id) or alone[r_id]
        found[kind] += 1
        if pair in truth:
            correct[kind] += 1
    expected = Counter(truth.values())
    kinds = sorted(set(expected) | set(found), key=lambda k: (-expected[k], k))
    scores = {k: PairScore(k, expected[k], found[k], correct[k]) for k in kinds}
    scores["overall"] = PairScore("overall", len(truth), sum(found.values()), sum(correct.values()))
    return scores


def _pylist(values: Any) -> list[Any]:
    return values.to_pylist() if hasattr(values, "to_pylist") else list(values)
