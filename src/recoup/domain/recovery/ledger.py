"""Double-entry postings for what a resolution does to the books.

A resolution that moves money (a write-off, a provisional credit, a chargeback, a fee) becomes
one :class:`JournalEntry`: two or more :class:`Line` s, each a debit or a credit to one account.
Invariants held by construction, never checked later:

- every entry balances **per currency**: the debits of each currency equal its credits;
- every line carries exactly one positive amount, written with its currency's decimals
  (``5`` USD is posted as ``5.00``, ``500`` JPY as ``500``);
- an entry's id follows from (case, kind, a key the caller gives), so replaying the same
  resolution builds the same entry and the store's unique key makes the replay a no-op;
- :func:`reverse` builds the mirror entry, which nets every account of the original to zero.

Accounts are named by their *role* (what they hold: receivables, clearing at the payment
provider, write-off expense, ...); a :class:`ChartOfAccounts` maps each role to the
organisation's own account code and name. The default chart can be overridden role by role
(``chart_from_mapping``; the TOML file reader is in ``recoup.adapters.ledger_files``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.ids import derived_id
from recoup.domain.money import Money, currency_exponent


class AccountKind(StrEnum):
    """The five classes of the accounting equation (assets = liabilities + equity + income
    - expenses); a debit raises an asset or expense, a credit raises the other three."""

    ASSET = "asset"
    LIABILITY = "liability"
    INCOME = "income"
    EXPENSE = "expense"
    EQUITY = "equity"


class AccountRole(StrEnum):
    """What an account holds, as the posting builders name it."""

    BANK = "bank"
    PSP_CLEARING = "psp_clearing"
    """cash the payment provider holds for us, not yet paid out"""
    RECEIVABLES = "receivables"
    """money owed for orders and invoices that a payment was expected to settle"""
    CUSTOMER_RECEIVABLE = "customer_receivable"
    """money a customer owes after being held liable"""
    PROVISIONAL_CREDIT_RECEIVABLE = "provisional_credit_receivable"
    """what we expect back from the counterparty for a credit granted ahead of the outcome"""
    PROVISIONAL_CREDIT_LIABILITY = "provisional_credit_liability"
    """credit granted to a customer ahead of the outcome of a claim"""
    WRITE_OFF_EXPENSE = "write_off_expense"
    CHARGEBACK_LOSSES = "chargeback_losses"
    FEES_EXPENSE = "fees_expense"


@dataclass(frozen=True, slots=True)
class Account:
    code: str
    name: str
    kind: AccountKind

    def __post_init__(self) -> None:
        if not self.code.strip() or not self.name.strip():
            raise InvalidInputError(f"an account needs a code and a name, got {self!r}")


DEFAULT_ACCOUNTS: Mapping[AccountRole, Account] = {
    AccountRole.BANK: Account("1000", "Bank", AccountKind.ASSET),
    AccountRole.PSP_CLEARING: Account(
        "1050", "Cash in clearing at payment provider", AccountKind.ASSET
    ),
    AccountRole.RECEIVABLES: Account("1100", "Accounts receivable", AccountKind.ASSET),
    AccountRole.CUSTOMER_RECEIVABLE: Account(
        "1150", "Receivable from liable customers", AccountKind.ASSET
    ),
    AccountRole.PROVISIONAL_CREDIT_RECEIVABLE: Account(
        "1300", "Provisional credit receivable", AccountKind.ASSET
    ),
    AccountRole.PROVISIONAL_CREDIT_LIABILITY: Account(
        "2300", "Provisional credit liability", AccountKind.LIABILITY
    ),
    AccountRole.WRITE_OFF_EXPENSE: Account("6100", "Write-off expense", AccountKind.EXPENSE),
    AccountRole.CHARGEBACK_LOSSES: Account("6200", "Chargeback losses", AccountKind.EXPENSE),
    AccountRole.FEES_EXPENSE: Account("6300", "Payment fees", AccountKind.EXPENSE),
}


@dataclass(frozen=True, slots=True)
class ChartOfAccounts:
    """Every role mapped to an account. Two roles may share an account (one general-ledger
    account for fees and chargeback losses, say), but one code never names two accounts."""

    accounts: Mapping[AccountRole, Account] = field(default_factory=lambda: dict(DEFAULT_ACCOUNTS))

    def __post_init__(self) -> None:
        missing = [r.value for r in AccountRole if r not in self.accounts]
        if missing:
            raise InvalidInputError(f"the chart of accounts has no account for {missing}")
        seen: dict[str, tuple[AccountRole, Account]] = {}
        for role, account in self.accounts.items():
            first = seen.setdefault(account.code, (role, account))
            if first[1] != account:
                raise InvalidInputError(
                    f"account code {account.code!r} names two accounts: {first[1].name!r} "
                    f"({first[0].value}) and {account.name!r} ({role.value})"
                )

    def __getitem__(self, role: AccountRole) -> Account:
        return self.accounts[role]


DEFAULT_CHART = ChartOfAccounts()

_ACCOUNT_FIELDS = ("code", "name", "kind")


def chart_from_mapping(
    data: Mapping[str, Any], *, source: str = "chart", base: ChartOfAccounts = DEFAULT_CHART
) -> ChartOfAccounts:
    """``base`` with the accounts of ``data`` (``{"accounts": {role: {code, name, kind}}}``)
    put in; a field left out keeps the base account's value. Unknown roles and fields are
    refused, naming the file (``source``) and the field."""
    unknown = sorted(set(data) - {"accounts"})
    if unknown:
        raise InvalidInputError(
            f"unknown key {unknown[0]!r}; a chart holds [accounts.<role>] tables",
            location=Location(file=source, field=unknown[0]),
        )
    tables = data.get("accounts", {})
    if not isinstance(tables, Mapping):
        raise InvalidInputError("must be a table", location=Location(source, field="accounts"))
    accounts = dict(base.accounts)
    for name, table in tables.items():
        where = f"accounts.{name}"
        try:
            role = AccountRole(name)
        except ValueError:
            roles = ", ".join(r.value for r in AccountRole)
            raise InvalidInputError(
                f"unknown account role {name!r}; roles are {roles}",
                location=Location(file=source, field=where),
            ) from None
        if not isinstance(table, Mapping):
            raise InvalidInputError("must be a table", location=Location(source, field=where))
        accounts[role] = _account(table, accounts[role], source=source, where=where)
    try:
        return ChartOfAccounts(accounts)
    except InvalidInputError as exc:
        raise InvalidInputError(exc.message, location=Location(file=source)) from None


def _account(table: Mapping[str, Any], default: Account, *, source: str, where: str) -> Account:
    for key, value in table.items():
        if key not in _ACCOUNT_FIELDS:
            raise InvalidInputError(
                f"unknown field {key!r}; an account has code, name and kind",
                location=Location(file=source, field=f"{where}.{key}"),
            )
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(
                f"must be a non-empty string, got {value!r}",
                location=Location(file=source, field=f"{where}.{key}"),
            )
    kind = table.get("kind", default.kind.value)
    try:
        account_kind = AccountKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in AccountKind)
        raise InvalidInputError(
            f"unknown account kind {kind!r}; kinds are {kinds}",
            location=Location(file=source, field=f"{where}.kind"),
        ) from None
    code = str(table.get("code", default.code)).strip()
    name = str(table.get("name", default.name)).strip()
    return Account(code, name, account_kind)


class PostingKind(StrEnum):
    WRITE_OFF = "write_off"
    PROVISIONAL_CREDIT = "provisional_credit"
    PROVISIONAL_CREDIT_REVERSAL = "provisional_credit_reversal"
    CUSTOMER_LIABLE = "customer_liable"
    CHARGEBACK = "chargeback"
    CHARGEBACK_REVERSAL = "chargeback_reversal"
    FEE = "fee"
    REVERSAL = "reversal"
    """a correction: the mirror of an entry posted in error (built by :func:`reverse`)"""


@dataclass(frozen=True, slots=True)
class Template:
    debit: AccountRole
    credit: AccountRole
    memo: str


TEMPLATES: Mapping[PostingKind, Template] = {
    PostingKind.WRITE_OFF: Template(
        AccountRole.WRITE_OFF_EXPENSE, AccountRole.RECEIVABLES, "written off: not recovered"
    ),
    PostingKind.PROVISIONAL_CREDIT: Template(
        AccountRole.PROVISIONAL_CREDIT_RECEIVABLE,
        AccountRole.PROVISIONAL_CREDIT_LIABILITY,
        "provisional credit granted pending the claim",
    ),
    PostingKind.PROVISIONAL_CREDIT_REVERSAL: Template(
        AccountRole.PROVISIONAL_CREDIT_LIABILITY,
        AccountRole.PROVISIONAL_CREDIT_RECEIVABLE,
        "provisional credit taken back: the claim failed",
    ),
    PostingKind.CUSTOMER_LIABLE: Template(
        AccountRole.CUSTOMER_RECEIVABLE, AccountRole.RECEIVABLES, "customer held liable"
    ),
    PostingKind.CHARGEBACK: Template(
        AccountRole.CHARGEBACK_LOSSES, AccountRole.PSP_CLEARING, "chargeback debited"
    ),
    PostingKind.CHARGEBACK_REVERSAL: Template(
        AccountRole.PSP_CLEARING, AccountRole.CHARGEBACK_LOSSES, "chargeback reversed: won"
    ),
    PostingKind.FEE: Template(AccountRole.FEES_EXPENSE, AccountRole.PSP_CLEARING, "fee charged"),
}
"""Each business posting kind as one debit and one credit of the same amount."""


@dataclass(frozen=True, slots=True)
class Line:
    """One side of an entry: exactly one of ``debit`` and ``credit``, positive."""

    account: Account
    debit: Money | None
    credit: Money | None
    memo: str = ""

    def __post_init__(self) -> None:
        if (self.debit is None) == (self.credit is None):
            raise InvalidInputError(
                f"a line to account {self.account.code} needs a debit or a credit, not both "
                "or neither"
            )
        if self.money.amount <= 0:
            raise InvalidInputError(
                f"a line to account {self.account.code} needs a positive amount, "
                f"got {self.money.amount}"
            )

    @property
    def money(self) -> Money:
        side = self.debit if self.debit is not None else self.credit
        assert side is not None  # checked in __post_init__
        return side

    @property
    def signed(self) -> Decimal:
        """Debit positive, credit negative: the line's effect on its account's balance."""
        return self.money.amount if self.debit is not None else -self.money.amount


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: str
    case_id: str
    kind: PostingKind
    at: datetime
    lines: tuple[Line, ...]
    reverses: str | None = None
    """the id of the entry this one mirrors (kind ``reversal`` only)"""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise InvalidInputError(f"journal entry {self.id}: {self.at} is not tz-aware")
        if len(self.lines) < 2:
            raise InvalidInputError(f"journal entry {self.id}: needs at least two lines")
        for currency, net in sorted(_net_by_currency(self.lines).items()):
            if net:
                raise InvalidInputError(
                    f"journal entry {self.id} does not balance in {currency}: "
                    f"debits exceed credits by {net}"
                )


def _net_by_currency(lines: Iterable[Line]) -> dict[str, Decimal]:
    net: dict[str, Decimal] = {}
    for line in lines:
        currency = line.money.currency
        net[currency] = net.get(currency, Decimal(0)) + line.signed
    return net


@dataclass(frozen=True, slots=True)
class LedgerOptions:
    accounting_enabled: bool = True
    """off: resolutions post nothing (the builders return None)"""
    external_accounting: bool = False
    """on: the general ledger of record is another system; entries are still built, stored
    and exported, and each is also sent to ``external_target`` through the writeback outbox"""
    external_target: str | None = None
    """The writeback target journal entries go to when accounting is external."""

    @property
    def needs_writeback(self) -> bool:
        return (self.accounting_enabled and self.external_accounting
                and self.external_target not in (None, "none"))  # fmt: skip


def entry_id(case_id: str, kind: PostingKind | str, key: str) -> str:
    """The id of the entry of ``kind`` for ``case_id`` under the caller's ``key`` (an attempt
    id, an event id): the same three give the same id, so a replay cannot post twice."""
    return derived_id("journal", case_id, str(kind), key)


def in_currency_decimals(money: Money) -> Money:
    """``money`` written with exactly its currency's decimals (``5`` USD -> ``5.00``)."""
    exponent = currency_exponent(money.currency)
    return Money(money.amount.quantize(Decimal(1).scaleb(-exponent)), money.currency)


def build_entry(
    kind: PostingKind | str,
    amount: Money,
    case_id: str,
    at: datetime,
    chart: ChartOfAccounts = DEFAULT_CHART,
    *,
    key: str,
    memo: str | None = None,
) -> JournalEntry:
    """The entry of a business posting ``kind`` for a positive ``amount``."""
    template = TEMPLATES.get(PostingKind(kind)) if kind in set(PostingKind) else None
    if template is None:
        kinds = ", ".join(k.value for k in TEMPLATES)
        raise InvalidInputError(
            f"no posting template for kind {str(kind)!r} (a reversal is built by reverse()); "
            f"kinds are {kinds}"
        )
    posting = PostingKind(kind)
    if amount.amount <= 0:
        raise InvalidInputError(
            f"case {case_id}: a {posting.value} posting needs a positive amount, got {amount}"
        )
    money, text = in_currency_decimals(amount), memo or template.memo
    lines = (
        Line(chart[template.debit], money, None, text),
        Line(chart[template.credit], None, money, text),
    )
    return JournalEntry(entry_id(case_id, posting, key), case_id, posting, at, lines)


def postings_for(
    kind: PostingKind | str,
    amount: Money,
    case_id: str,
    at: datetime,
    chart: ChartOfAccounts = DEFAULT_CHART,
    *,
    key: str,
    memo: str | None = None,
    options: LedgerOptions = LedgerOptions(),  # frozen: a shared default is safe
) -> JournalEntry | None:
    """:func:`build_entry` when accounting is on; None when it is switched off."""
    if not options.accounting_enabled:
        return None
    return build_entry(kind, amount, case_id, at, chart, key=key, memo=memo)


def reverse(entry: JournalEntry, at: datetime) -> JournalEntry:
    """The mirror of ``entry`` (every debit a credit and back), dated ``at``. Its id follows
    from the original's, so reversing the same entry twice gives one reversal."""
    lines = tuple(
        Line(line.account, line.credit, line.debit, f"reversal of {entry.id}: {line.memo}")
        for line in entry.lines
    )
    return JournalEntry(
        derived_id("journal-reversal", entry.id),
        entry.case_id,
        PostingKind.REVERSAL,
        at,
        lines,
        reverses=entry.id,
    )


def balances(entries: Iterable[JournalEntry]) -> dict[tuple[str, str], Decimal]:
    """(account code, currency) -> debits minus credits over ``entries``."""
    out: dict[tuple[str, str], Decimal] = {}
    for entry in entries:
        for line in entry.lines:
            key = (line.account.code, line.money.currency)
            out[key] = out.get(key, Decimal(0)) + line.signed
    return out


__all__ = [
    "DEFAULT_ACCOUNTS",
    "DEFAULT_CHART",
    "TEMPLATES",
    "Account",
    "AccountKind",
    "AccountRole",
    "ChartOfAccounts",
    "JournalEntry",
    "LedgerOptions",
    "Line",
    "PostingKind",
    "Template",
    "balances",
    "build_entry",
    "chart_from_mapping",
    "entry_id",
    "in_currency_decimals",
    "postings_for",
    "reverse",
]
