"""Bank file connectors: camt.053, MT940 and generic-bank CSV, parsed alone and end to end.

Each file is generated in memory, realistic and deterministic (a seeded generator, no wall
clock): a camt.053.001.08 statement with N entries (IBANs with valid check digits, end-to-end
ids, mandate ids, bank transaction codes, unstructured and structured remittance), a German MT940
export with N ``:61:``/``:86:`` pairs (one statement per day over 28 days, ``?NN`` subfields
with EREF/MREF/CRED/SVWZ, balances that add up and continue from day to day) and a generic-bank
CSV with N rows (day-first dates, quoted descriptions with commas, thousands separators, a
running balance).

For each format and database it measures

- parse: ``FileFormat.parse`` alone, every item consumed (no database);
- end to end: parse + ``ingest_records`` (dedupe, persist, link, detect, cases, audit) into a
  fresh store, one commit per ``--batch-size`` records, exactly what ``recoup ingest --format``
  does after reading the file; the store is counted afterwards and must hold every event;
- for context, canonical JSON Lines of the same number of events from the demo month, through
  the same pipeline in the same process (``bench/ingest.py`` measures that path on its own).

    .venv/bin/python bench/connectors.py                        # 50,000 records, SQLite
    .venv/bin/python bench/connectors.py --backends sqlite,postgresql --size 20000
    .venv/bin/python bench/connectors.py --formats mt940 --profile mt940

Rates are records per second: camt.053 entries (``Ntry``), MT940 statement lines (``:61:``)
and CSV data rows. Balances are events too (2 per camt statement, 3 per MT940 statement), so
events/s is slightly higher. Targets on a 2-core machine: camt.053 >= 10,000 entries/s, MT940
and CSV >= 20,000 lines/s end to end on SQLite.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import pstats
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from recoup.adapters.clock import SystemClock
from recoup.adapters.connectors.base import ParseContext
from recoup.adapters.connectors.registry import file_formats
from recoup.adapters.simulation.demo_month import DemoSpec, demo_lines
from recoup.bootstrap import bootstrap
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from recoup.domain.ingestion.flags import FileFlag
from recoup.services.ingest import RawRecord, ingest_records
from recoup.settings import DatabaseSettings, Settings
from scratch import scratch_store

FORMATS = ("camt.053", "mt940", "csv:generic-bank")
START = date(2026, 10, 1)
DAYS = 28  # business days of the generated period: one MT940 statement per day

# --- realistic parties -------------------------------------------------------------------------

_BANKS = (  # (BLZ, BIC) of German banks, as they appear on real statements
    ("10070000", "DEUTDEBBXXX"),
    ("37040044", "COBADEFFXXX"),
    ("50010517", "INGDDEFFXXX"),
    ("70020270", "HYVEDEMMXXX"),
    ("12030000", "BYLADEM1001"),
    ("43060967", "GENODEM1GLS"),
)
_CUSTOMERS = (
    "Mueller Haustechnik GmbH",
    "Schmidt & Partner KG",
    "Anna Schneider",
    "Fischer Logistik AG",
    "Weber Buerobedarf e.K.",
    "Meyer Elektro GmbH",
    "Dr. Thomas Wagner",
    "Becker Gastronomie",
    "Hoffmann IT-Services GmbH",
    "Schaefer Moebel OHG",
    "Koch & Soehne GmbH",
    "Lena Richter",
)
_SUPPLIERS = (
    "Stadtwerke Muenchen GmbH",
    "Telekom Deutschland GmbH",
    "AWS EMEA SARL",
    "Allianz Versicherungs-AG",
    "DHL Paket GmbH",
    "Finanzamt Muenchen",
    "Vermieter GbR Ostpark",
    "Haufe-Lexware GmbH & Co. KG",
    "Techniker Krankenkasse",
)


def iban(rng: random.Random) -> tuple[str, str]:
    """A German IBAN with valid check digits (ISO 13616 mod 97), and the bank's BIC."""
    blz, bic = rng.choice(_BANKS)
    bban = blz + f"{rng.randrange(10**10):010d}"
    check = 98 - int(bban + "131400") % 97  # "DE00" moved to the end, letters as numbers
    return f"DE{check:02d}{bban}", bic


def creditor_reference(rng: random.Random) -> str:
    """An ISO 11649 RF creditor reference with valid check digits."""
    body = f"{rng.randrange(10**12):012d}"
    check = 98 - int(body + "271500") % 97  # "RF00" moved to the end
    return f"RF{check:02d}{body}"


@dataclass(frozen=True, slots=True)
class Line:
    """One booked transaction, whatever the file format."""

    day: date
    cents: int  # positive
    credit: bool
    kind: str  # transfer | direct_debit | card | fee
    party: str
    party_iban: str
    party_bic: str
    end_to_end: str | None
    mandate: str | None
    remittance: str
    structured: str | None  # RF creditor reference
    bank_ref: str


def transactions(count: int, seed: int, days: int = DAYS) -> list[Line]:
    """A month-like flow of a small company's account: customers pay invoices, suppliers are
    paid by transfer or collect by direct debit, card settlements, a few fees."""
    rng = random.Random(seed)
    lines: list[Line] = []
    for n in range(count):
        day = START + timedelta(days=n * days // count)
        roll = rng.random()
        party_iban, party_bic = iban(rng)
        invoice = f"RE-{day.year}-{10000 + rng.randrange(90000)}"
        mandate = None
        structured = None
        end_to_end: str | None = f"E2E{day:%Y%m%d}{n:07d}"
        if roll < 0.50:  # incoming transfer from a customer
            kind, credit, party = "transfer", True, rng.choice(_CUSTOMERS)
            cents = int(rng.lognormvariate(11.0, 1.0)) + 500
            if rng.random() < 0.3:
                structured = creditor_reference(rng)
                remittance = structured
            else:
                remittance = f"Rechnung {invoice} Kd-Nr {rng.randrange(1000, 9999)}"
            if rng.random() < 0.25:
                end_to_end = None  # NOTPROVIDED: the payer's bank sent no id
        elif roll < 0.72:  # outgoing transfer to a supplier
            kind, credit, party = "transfer", False, rng.choice(_SUPPLIERS)
            cents = int(rng.lognormvariate(10.5, 1.1)) + 300
            remittance = f"{invoice} vom {day:%d.%m.%Y}"
        elif roll < 0.88:  # SEPA direct debit collected by a supplier
            kind, credit, party = "direct_debit", False, rng.choice(_SUPPLIERS)
            cents = int(rng.lognormvariate(9.5, 0.8)) + 100
            mandate = f"MNDT-{rng.randrange(10**8):08d}"
            remittance = f"Beitrag {day:%m/%Y} Vertrag {rng.randrange(10**6):06d}"
        elif roll < 0.97:  # card acquirer settlement
            kind, credit, party = "card", True, "Card Acquiring Services GmbH"
            cents = int(rng.lognormvariate(12.0, 0.6))
            remittance = f"Settlement {day:%Y-%m-%d} Batch {rng.randrange(10**5):05d}"
        else:  # bank charges
            kind, credit, party, party_iban, party_bic = "fee", False, "", "", ""
            cents = rng.choice((250, 490, 1290, 1500))
            remittance = f"Kontofuehrung {day:%m/%Y}"
            end_to_end = None
        bank_ref = f"{day:%y%m%d}{n:010d}"  # numeric, as many banks' references are
        line = Line(day=day, cents=cents, credit=credit, kind=kind, party=party,
                    party_iban=party_iban, party_bic=party_bic, end_to_end=end_to_end,
                    mandate=mandate, remittance=remittance, structured=structured,
                    bank_ref=bank_ref)  # fmt: skip
        lines.append(line)
    return lines


def _money(cents: int, point: str = ".") -> str:
    return f"{cents // 100}{point}{cents % 100:02d}"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- camt.053 ------------------------------------------------------------------------------------

_CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
_CAMT_CODES = {  # (domain, family, sub-family) of each kind and direction
    ("transfer", True): ("PMNT", "RCDT", "ESCT"),
    ("transfer", False): ("PMNT", "ICDT", "ESCT"),
    ("direct_debit", False): ("PMNT", "IDDT", "ESDD"),
    ("card", True): ("PMNT", "CCRD", "SMRR"),
    ("fee", False): ("ACMT", "MDOP", "CHRG"),
}


def camt053(count: int, seed: int = 53) -> bytes:
    """A camt.053.001.08 statement of one EUR account with ``count`` entries."""
    rng = random.Random(seed)
    account, bic = iban(rng)
    lines = transactions(count, seed)
    opening = 2_500_000_00
    closing = opening + sum(t.cents if t.credit else -t.cents for t in lines)
    last = lines[-1].day if lines else START
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<Document xmlns="{_CAMT_NS}">\n<BkToCstmrStmt>\n',
        f"<GrpHdr><MsgId>STMT{seed}{START:%Y%m%d}{count}</MsgId>"
        f"<CreDtTm>{last}T06:00:00+01:00</CreDtTm></GrpHdr>\n",
        f"<Stmt><Id>{last:%Y%m%d}-{count}</Id><ElctrncSeqNb>{last:%j}</ElctrncSeqNb>"
        f"<LglSeqNb>{last:%j}</LglSeqNb><CreDtTm>{last}T06:00:00+01:00</CreDtTm>"
        f"<FrToDt><FrDtTm>{START}T00:00:00+01:00</FrDtTm>"
        f"<ToDtTm>{last}T23:59:59+01:00</ToDtTm></FrToDt>\n"
        f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy><Ownr><Nm>Recoup Demo GmbH</Nm>"
        f"</Ownr><Svcr><FinInstnId><BICFI>{bic}</BICFI></FinInstnId></Svcr></Acct>\n",
        _camt_balance("OPBD", opening, START),
        _camt_balance("CLBD", closing, last),
    ]
    for index, line in enumerate(lines, start=1):
        out.append(_camt_entry(index, line))
    out.append("</Stmt>\n</BkToCstmrStmt>\n</Document>\n")
    return "".join(out).encode("utf-8")


def _camt_balance(kind: str, cents: int, day: date) -> str:
    sign = "CRDT" if cents >= 0 else "DBIT"
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="EUR">{_money(abs(cents))}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
        f"<Dt><Dt>{day}</Dt></Dt></Bal>\n"
    )


def _camt_entry(index: int, t: Line) -> str:
    sign = "CRDT" if t.credit else "DBIT"
    amount = f'<Amt Ccy="EUR">{_money(t.cents)}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
    domain, family, sub = _CAMT_CODES[(t.kind, t.credit)]
    code = (
        f"<BkTxCd><Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd>"
        f"<SubFmlyCd>{sub}</SubFmlyCd></Fmly></Domn></BkTxCd>"
    )
    refs = f"<AcctSvcrRef>{t.bank_ref}</AcctSvcrRef>"
    if not t.credit:
        refs += f"<PmtInfId>PMT-{t.day:%Y%m%d}-{index % 97:02d}</PmtInfId>"
        refs += f"<InstrId>INS{index:09d}</InstrId>"
    refs += f"<EndToEndId>{t.end_to_end or 'NOTPROVIDED'}</EndToEndId>"
    if t.mandate:
        refs += f"<MndtId>{t.mandate}</MndtId>"
    parties = ""
    if t.party:
        role = "Dbtr" if t.credit else "Cdtr"
        parties = (
            f"<RltdPties><{role}><Pty><Nm>{_xml(t.party)}</Nm></Pty></{role}>"
            f"<{role}Acct><Id><IBAN>{t.party_iban}</IBAN></Id></{role}Acct></RltdPties>"
            f"<RltdAgts><{role}Agt><FinInstnId><BICFI>{t.party_bic}</BICFI></FinInstnId>"
            f"</{role}Agt></RltdAgts>"
        )
    if t.structured:
        remittance = (
            "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
            f"<Ref>{t.structured}</Ref></CdtrRefInf></Strd></RmtInf>"
        )
    else:
        remittance = f"<RmtInf><Ustrd>{_xml(t.remittance)}</Ustrd></RmtInf>"
    return (
        f"<Ntry><NtryRef>{index}</NtryRef>{amount}<Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><Dt>{t.day}</Dt></BookgDt><ValDt><Dt>{t.day}</Dt></ValDt>"
        f"<AcctSvcrRef>{t.bank_ref}</AcctSvcrRef>{code}\n"
        f"<NtryDtls><TxDtls><Refs>{refs}</Refs>{amount}{code}\n{parties}\n{remittance}"
        f"</TxDtls></NtryDtls></Ntry>\n"
    )


# --- MT940 ---------------------------------------------------------------------------------------

_MT940_CODES = {  # (SWIFT transaction type, German GVC, posting text)
    ("transfer", True): ("NTRF", "166", "SEPA-GUTSCHRIFT"),
    ("transfer", False): ("NTRF", "177", "SEPA-UEBERWEISUNG"),
    ("direct_debit", False): ("NDDT", "105", "SEPA-BASISLASTSCHRIFT"),
    ("card", True): ("NMSC", "166", "SEPA-GUTSCHRIFT"),
    ("fee", False): ("NCHG", "805", "ABSCHLUSS"),
}


def mt940(count: int, seed: int = 940) -> bytes:
    """A German bank's MT940 export of one account: one statement per day, ``count`` lines."""
    rng = random.Random(seed)
    blz = rng.choice(_BANKS)[0]
    account = f"{blz}/{rng.randrange(10**10):010d}"
    balance = 1_250_000_00
    out: list[str] = []
    days = itertools.groupby(transactions(count, seed), key=lambda t: t.day)
    for number, (day, chunk) in enumerate(days, start=1):
        out += [
            ":20:STARTUMS",
            f":25:{account}",
            f":28C:{number:05d}/001",
            f":60F:{_mt940_balance(balance, day)}",
        ]
        for t in chunk:
            swift, gvc, posting = _MT940_CODES[(t.kind, t.credit)]
            mark = "C" if t.credit else "D"
            reference = "NONREF" if t.end_to_end is None else t.end_to_end[-16:]
            out.append(
                f":61:{t.day:%y%m%d%m%d}{mark}{_money(t.cents, ',')}{swift}"
                f"{reference}//{t.bank_ref[-16:]}"
            )
            out += _mt940_details(t, gvc, posting)
            balance += t.cents if t.credit else -t.cents
        closing = _mt940_balance(balance, day)
        out += [f":62F:{closing}", f":64:{closing}", "-"]
    return ("\r\n".join(out) + "\r\n").encode("latin-1")


def _mt940_balance(cents: int, day: date) -> str:
    return f"{'C' if cents >= 0 else 'D'}{day:%y%m%d}EUR{_money(abs(cents), ',')}"


def _mt940_details(t: Line, gvc: str, posting: str) -> list[str]:
    """``:86:`` in the German ``?NN`` layout, one subfield per line as German banks write it;
    each SEPA keyword (EREF+, MREF+, CRED+, SVWZ+) starts a purpose subfield (?20-?29, 27
    characters each)."""
    keywords = [f"EREF+{t.end_to_end}"] if t.end_to_end else []
    if t.mandate:
        keywords += [f"MREF+{t.mandate}", "CRED+DE98ZZZ09999999999"]
    keywords.append(f"SVWZ+{t.remittance}")
    pieces = [k[i : i + 27] for k in keywords for i in range(0, len(k), 27)][:10]
    fields = [f"{gvc}?00{posting}", "?10931"]
    fields += [f"?{20 + n}{piece}" for n, piece in enumerate(pieces)]
    if t.party:
        fields += [f"?30{t.party_bic}", f"?31{t.party_iban}", f"?32{t.party[:27]}"]
        if len(t.party) > 27:
            fields.append(f"?33{t.party[27:54]}")
    fields.append("?34997" if t.kind == "direct_debit" else "?34000")
    return [":86:" + fields[0], *fields[1:]]


# --- generic-bank CSV ----------------------------------------------------------------------------


def bank_csv(count: int, seed: int = 7) -> bytes:
    """A bank's CSV export in the generic-bank layout, oldest row first."""
    out = ["Date,Value Date,Description,Reference,Debit,Credit,Balance,Currency"]
    balance = 830_000_00
    for t in transactions(count, seed):
        balance += t.cents if t.credit else -t.cents
        description = f"{t.party}, {t.remittance}" if t.party else t.remittance
        amount = f'"{t.cents / 100:,.2f}"'
        debit, credit = ("", amount) if t.credit else (amount, "")
        out.append(
            f'{t.day:%d/%m/%Y},{t.day:%d/%m/%Y},"{description}",{t.end_to_end or t.bank_ref},'
            f'{debit},{credit},"{balance / 100:,.2f}",EUR'
        )
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


GENERATORS: dict[str, Callable[[int], bytes]] = {
    "camt.053": camt053,
    "mt940": mt940,
    "csv:generic-bank": bank_csv,
}
SOURCES = {"csv:generic-bank": "bank:main-eur"}  # a CSV does not say its account; the user does
UNITS = {"camt.053": "entries", "mt940": ":61: lines", "csv:generic-bank": "rows"}

# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Counted:
    events: int = 0
    rejections: int = 0
    flags: int = 0


def parse_only(name: str, data: bytes) -> tuple[float, Counted]:
    fmt = file_formats()[name]
    context = ParseContext(f"bench.{name}", datetime.now(UTC), SOURCES.get(name))
    counted = Counted()
    started = time.perf_counter()
    for item in fmt.parse(data, context):
        if isinstance(item, Event):
            counted.events += 1
        elif isinstance(item, Rejection):
            counted.rejections += 1
        elif isinstance(item, FileFlag):
            counted.flags += 1
    return time.perf_counter() - started, counted


def end_to_end(
    backend: str,
    name: str,
    data: bytes,
    batch_size: int,
    profiler: cProfile.Profile | None = None,
) -> tuple[float, int]:
    """Seconds to parse and ingest ``data`` into a fresh store; events reported and counted."""
    with scratch_store(backend) as url:
        app = bootstrap(Settings(database=DatabaseSettings(url=url)), clock=SystemClock())
        app.ensure_schema()
        fmt = file_formats()[name]
        context = ParseContext(f"bench.{name}", app.clock.now(), SOURCES.get(name))
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        report = ingest_records(
            fmt.parse(data, context),
            uow=app.uow,
            clock=app.clock,
            detectors=app.detectors,
            label=f"bench {name}",
            format_name=name,
            batch_size=batch_size,
        )
        elapsed = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
        stored = count_events(app.engine)
        app.close()
    if report.quarantined or report.new_events != stored:
        raise SystemExit(
            f"{name} on {backend}: {report.quarantined} quarantined, "
            f"{report.new_events} new events but {stored} stored: {report}"
        )
    return elapsed, stored


def jsonl(backend: str, lines: list[bytes], batch_size: int) -> float:
    with scratch_store(backend) as url:
        app = bootstrap(Settings(database=DatabaseSettings(url=url)), clock=SystemClock())
        app.ensure_schema()
        records = [RawRecord(data, "bench.jsonl", n) for n, data in enumerate(lines, 1)]
        started = time.perf_counter()
        report = ingest_records(
            records,
            uow=app.uow,
            clock=app.clock,
            detectors=app.detectors,
            label="bench",
            batch_size=batch_size,
        )
        elapsed = time.perf_counter() - started
        stored = count_events(app.engine)
        app.close()
    if report.accepted != len(lines) or stored != len(lines):
        raise SystemExit(f"JSON Lines on {backend}: {stored} of {len(lines)} events stored")
    return len(lines) / elapsed


def count_events(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one())


def demo_events(count: int) -> list[bytes]:
    spec = DemoSpec(payments=int(count / 1.1) + 1000)
    return list(itertools.islice(demo_lines(spec), count))


def print_profile(profiler: cProfile.Profile, top: int) -> None:
    for order in ("tottime", "cumulative"):
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.strip_dirs().sort_stats(order).print_stats(top)
        text = buffer.getvalue()
        print(f"\n--- cProfile, end to end, sorted by {order} ---")
        print(text[text.find("   ncalls") :].rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=50_000, help="records per file")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--backends", default="sqlite", help="sqlite,postgresql")
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument(
        "--profile",
        metavar="FORMAT",
        help="then cProfile this format end to end on the first backend and print the top costs",
    )
    parser.add_argument("--top", type=int, default=25, help="rows of the profile")
    args = parser.parse_args()
    formats = args.formats.split(",")
    backends = args.backends.split(",")

    files: dict[str, bytes] = {}
    for name in formats:
        started = time.perf_counter()
        data = files[name] = GENERATORS[name](args.size)
        took = time.perf_counter() - started
        text_lines = data.count(b"\n")
        print(
            f"{name}: {args.size:,} {UNITS[name]}, {len(data) / 1e6:.1f} MB, "
            f"{text_lines:,} lines of text (generated in {took:.1f} s, not measured)"
        )
    parsed = {name: parse_only(name, files[name]) for name in formats}
    for name, (_, counted) in parsed.items():
        if counted.rejections or counted.flags:
            raise SystemExit(f"{name}: the generated file gives {counted}: fix the generator")
    demo = demo_events(max(counted.events for _, counted in parsed.values()))

    print(
        f"\nrecords/s: camt.053 entries, MT940 :61: lines, CSV rows; events include balances; "
        f"batch size {args.batch_size:,}"
    )
    header = (
        f"{'format':<18}{'backend':<12}{'records':>8}{'events':>8}{'parse rec/s':>13}"
        f"{'e2e rec/s':>11}{'e2e ev/s':>10}{'e2e s':>8}{'jsonl ev/s':>12}{'e2e/jsonl':>11}"
    )
    print(header)
    print("-" * len(header))
    for backend in backends:
        for name in formats:
            parse_seconds, counted = parsed[name]
            elapsed, events = end_to_end(backend, name, files[name], args.batch_size)
            baseline = jsonl(backend, demo[:events], args.batch_size)
            print(
                f"{name:<18}{backend:<12}{args.size:>8,}{events:>8,}"
                f"{args.size / parse_seconds:>13,.0f}{args.size / elapsed:>11,.0f}"
                f"{events / elapsed:>10,.0f}{elapsed:>8.2f}{baseline:>12,.0f}"
                f"{events / elapsed / baseline:>10.2f}x"
            )
    print(
        "\njsonl: as many demo-month events as the format gave, as canonical JSON Lines, "
        "through the same pipeline into a fresh store of the same backend"
    )

    if args.profile:
        profiler = cProfile.Profile()
        end_to_end(backends[0], args.profile, files[args.profile], args.batch_size, profiler)
        print(
            f"\ncProfile of {args.profile} end to end on {backends[0]} ({args.size:,} "
            f"{UNITS[args.profile]}; profiling makes every call slower)"
        )
        print_profile(profiler, args.top)


if __name__ == "__main__":
    main()
