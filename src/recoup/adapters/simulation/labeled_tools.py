"""Building blocks of the labeled month: names, bank and tax numbers that pass (or, on purpose,
fail) their check digits, and amounts that never collide by accident.

Everything takes the generator's own ``random.Random``: no global random state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from rapidfuzz import fuzz, utils
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as stdnum_vat

FIRST_NAMES = (
    "Anna",
    "Lukas",
    "Marie",
    "Jonas",
    "Sophie",
    "Felix",
    "Emma",
    "Paul",
    "Lena",
    "Noah",
    "Clara",
    "Elias",
    "Julia",
    "Maximilian",
    "Laura",
    "Henri",
    "Camille",
    "Louis",
    "Chloé",
    "Hugo",
    "Giulia",
    "Matteo",
    "Sofia",
    "Lorenzo",
    "Lucía",
    "Pablo",
    "Carmen",
    "Javier",
    "Sanne",
    "Daan",
    "Femke",
    "Bram",
    "Olivia",
    "Oliver",
    "Amelia",
    "George",
    "Isla",
    "Harry",
    "Freya",
    "Jack",
    "Ingrid",
    "Lars",
    "Astrid",
    "Mikkel",
    "Zofia",
    "Jakub",
    "Eva",
    "Tomas",
)
LAST_NAMES = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "García",
    "Martínez",
    "López",
    "Sánchez",
    "Pérez",
    "de Jong",
    "Jansen",
    "de Vries",
    "van Dijk",
    "Bakker",
    "Visser",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Evans",
    "Andersen",
    "Nielsen",
    "Hansen",
    "Nowak",
    "Kowalski",
    "Novák",
)
COMPANY_WORDS = (
    "Alpen",
    "Nordlicht",
    "Rhein",
    "Havel",
    "Isar",
    "Lindgren",
    "Kestrel",
    "Blauwater",
    "Ostsee",
    "Sonnenberg",
    "Eichen",
    "Fjord",
    "Granit",
    "Polder",
    "Brightwell",
    "Marlow",
    "Cedar",
    "Lavendel",
    "Tannen",
    "Zeder",
    "Aurora",
    "Falken",
    "Meridian",
    "Riviera",
    "Seeland",
    "Wald",
)
COMPANY_TRADES = (
    "Logistik",
    "Verpackung",
    "Druck",
    "Textil",
    "Papier",
    "Elektro",
    "Software",
    "Consulting",
    "Spedition",
    "Metallbau",
    "Reinigung",
    "Catering",
    "Office Supplies",
    "Packaging",
    "Freight",
    "Print",
    "Facility Services",
    "Labels",
    "Cartons",
    "IT Services",
)
COUNTRY_FORMS = {"DE": ("GmbH", "AG", "GmbH & Co. KG"), "AT": ("GmbH", "KG"), "NL": ("B.V.",)}

# A generated clean name must score below this against every sanctioned name, by every scorer
# a screening detector is likely to use: well under the default alert threshold of 90.
CLEAN_NAME_CEILING = 75.0
# Bank codes that exist in each country (a real BLZ, Bankleitzahl or bank identifier).
BANK_CODES = {
    "DE": ("37040044", "50010517", "10070000", "20041133", "70020270"),
    "AT": ("12000", "20111", "32000", "14000"),
    "NL": ("ABNA", "INGB", "RABO", "TRIO"),
}


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(int(rng.random() * 10)) for _ in range(count))


def iban_check_digits(country: str, bban: str) -> str:
    """The two ISO 13616 check digits of ``country`` + ``bban`` (mod 97 = 1)."""
    moved = f"{bban}{country}00"
    number = int("".join(str(int(c, 36)) for c in moved))
    return f"{98 - number % 97:02d}"


def make_iban(rng: random.Random, country: str) -> str:
    """A random IBAN of ``country`` (DE, AT or NL) with valid check digits."""
    while True:
        bank = BANK_CODES[country][int(rng.random() * len(BANK_CODES[country]))]
        account = _digits(rng, {"DE": 10, "AT": 11, "NL": 10}[country])
        bban = bank + account
        value = f"{country}{iban_check_digits(country, bban)}{bban}"
        if stdnum_iban.is_valid(value):
            return value


def break_iban(value: str) -> str:
    """The same IBAN with wrong check digits: mod 97 no longer gives 1."""
    good = int(value[2:4])
    bad = f"{(good + 11) % 97 + 2:02d}" if good != 0 else "13"
    if bad == value[2:4]:
        bad = f"{(good + 23) % 97 + 2:02d}"
    broken = value[:2] + bad + value[4:]
    assert not stdnum_iban.is_valid(broken)
    return broken


def make_vat(rng: random.Random, country: str) -> str:
    """A random VAT number of ``country`` (DE, AT or NL) that passes its check digit."""
    while True:
        if country == "DE":
            stem, tail = f"DE{1 + int(rng.random() * 9)}{_digits(rng, 7)}", ""
        elif country == "AT":
            stem, tail = f"ATU{_digits(rng, 7)}", ""
        else:
            stem, tail = f"NL{_digits(rng, 8)}", f"B{1 + int(rng.random() * 9):02d}"
        for check in "0123456789":
            value = stem + check + tail
            if stdnum_vat.is_valid(value):
                return value


def break_vat(value: str) -> str:
    """The same VAT number with another check digit, which fails validation."""
    position = len(value) - (4 if value.startswith("NL") else 1)
    for check in "0123456789":
        broken = value[:position] + check + value[position + 1 :]
        if broken != value and not stdnum_vat.is_valid(broken):
            return broken
    raise AssertionError(f"cannot break {value}")  # pragma: no cover


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass
class NamePool:
    """People and company names, none of them close to a sanctioned name."""

    sanctioned: tuple[str, ...]
    _ok: dict[str, bool] = field(default_factory=dict)
    _processed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._processed = [utils.default_process(n) for n in self.sanctioned]

    def is_clean(self, name: str) -> bool:
        known = self._ok.get(name)
        if known is not None:
            return known
        text = utils.default_process(name)
        ok = True
        for other in self._processed:
            score = max(
                fuzz.ratio(text, other),
                fuzz.token_sort_ratio(text, other),
                fuzz.token_set_ratio(text, other),
                fuzz.WRatio(text, other),
            )
            if score >= CLEAN_NAME_CEILING:
                ok = False
                break
        self._ok[name] = ok
        return ok

    def person(self, rng: random.Random) -> str:
        while True:
            first = FIRST_NAMES[int(rng.random() * len(FIRST_NAMES))]
            last = LAST_NAMES[int(rng.random() * len(LAST_NAMES))]
            name = f"{first} {last}"
            if self.is_clean(name):
                return name

    def company(self, rng: random.Random, country: str) -> str:
        forms = COUNTRY_FORMS[country]
        while True:
            word = COMPANY_WORDS[int(rng.random() * len(COMPANY_WORDS))]
            trade = COMPANY_TRADES[int(rng.random() * len(COMPANY_TRADES))]
            name = f"{word} {trade} {forms[int(rng.random() * len(forms))]}"
            if self.is_clean(name):
                return name


@dataclass
class AmountBook:
    """Remembers (party, currency, amount) -> times, so clean traffic never puts the same amount
    for one party twice within ``gap`` seconds (which the duplicate detectors would flag)."""

    gap: int
    taken: dict[tuple[str, str, int], list[int]] = field(default_factory=dict)

    def free(self, party: str, currency: str, cents: int, at: int, *, step: int = 1) -> int:
        """``cents``, or the nearest amount (moving by ``step``) free at ``at``."""
        while True:
            times = self.taken.setdefault((party, currency, cents), [])
            if all(abs(at - other) > self.gap for other in times):
                times.append(at)
                return cents
            cents += step
