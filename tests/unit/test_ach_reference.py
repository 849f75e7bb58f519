"""The NACHA return and change code lists: every code is loaded, each with its title and group."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from recoup.domain.reference import ach
from recoup.domain.reference.ach import (
    ReasonInfo,
    ach_change_reason,
    ach_change_reasons,
    ach_return_reason,
    ach_return_reasons,
)

SHARED = Path("/work/shared/fixtures/codes/ach")
PACKAGE = "recoup.domain.reference"


def _csv_rows(name: str) -> list[dict[str, str]]:
    text = resources.files(PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize(
    ("name", "lookup"),
    [("nacha_return_codes.csv", ach_return_reason), ("nacha_change_codes.csv", ach_change_reason)],
)
def test_every_code_in_the_csv_is_loaded_with_its_title_and_description(
    name: str, lookup: object
) -> None:
    # given the packaged CSV
    rows = _csv_rows(name)
    assert rows
    for row in rows:
        # when each code is looked up
        info = lookup(row["code"])  # type: ignore[operator]
        # then it is there with the CSV's own words
        assert isinstance(info, ReasonInfo)
        assert info.code == row["code"]
        assert info.title == row["reason"]
        assert info.description == (row["description"] or None)


def test_the_lists_have_every_code_once_in_code_order() -> None:
    returns = [info.code for info in ach_return_reasons()]
    changes = [info.code for info in ach_change_reasons()]
    assert returns == sorted(r["code"] for r in _csv_rows("nacha_return_codes.csv"))
    assert changes == sorted(r["code"] for r in _csv_rows("nacha_change_codes.csv"))
    assert len(returns) == 69
    assert len(changes) == 20
    assert returns[0] == "R01"
    assert returns[-1] == "R85"


def test_r01_is_insufficient_funds() -> None:
    info = ach_return_reason("R01")
    assert info == ReasonInfo(
        code="R01",
        title="Insufficient Funds",
        description="Available balance is not sufficient to cover the dollar value of the debit "
        "entry",
        group="general",
    )
    assert info.kind == "return"
    assert info.reason_code == "ach:R01"


def test_c01_is_an_incorrect_account_number() -> None:
    info = ach_change_reason("C01")
    assert info is not None
    assert (info.title, info.group, info.kind, info.reason_code) == (
        "Incorrect bank account number",
        "change",
        "change",
        "ach:C01",
    )


@pytest.mark.parametrize("code", ["ach:R01", "r01", " R01 ", "ACH:r01"])
def test_a_code_is_found_namespaced_in_any_case(code: str) -> None:
    info = ach_return_reason(code)
    assert info is not None
    assert info.code == "R01"


@pytest.mark.parametrize("code", ["R99", "R36", "R00", "C99", "X01", "", "  ", None, "ach:", "R1"])
def test_an_unknown_return_code_is_none(code: str | None) -> None:
    assert ach_return_reason(code) is None


@pytest.mark.parametrize("code", ["C92", "C10", "C00", "R01", "", None])
def test_an_unknown_change_code_is_none(code: str | None) -> None:
    assert ach_change_reason(code) is None


@pytest.mark.parametrize(
    ("code", "group", "kind"),
    [
        ("R07", "general", "return"),
        ("R35", "general", "return"),
        ("R40", "enr", "return"),
        ("R53", "rck", "return"),
        ("R61", "dishonored", "dishonored"),
        ("R62", "dishonored", "dishonored"),
        ("R67", "dishonored", "dishonored"),
        ("R70", "dishonored", "dishonored"),
        ("R71", "contested", "contested"),
        ("R77", "contested", "contested"),
        ("R80", "iat", "return"),
    ],
)
def test_return_codes_are_grouped_as_the_rules_file_them(code: str, group: str, kind: str) -> None:
    info = ach_return_reason(code)
    assert info is not None
    assert (info.group, info.kind) == (group, kind)


def test_refused_change_codes_have_no_description() -> None:
    info = ach_change_reason("C61")
    assert info == ReasonInfo("C61", "Misrouted Notification of Change", None, "refused")
    assert info.kind == "refused"


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared samples not present at {SHARED}")
def test_the_groups_follow_the_sections_of_moovs_returns_md() -> None:
    # given moov-io/ach's returns.md, whose sections list the codes by use
    sections = {
        "General Return Codes": "general",
        "Used for ENR entries": "enr",
        "Used for RCK entries": "rck",
        "Used by the ODFI for dishonored return entries": "dishonored",
        "Used by the RDFI for contested dishonored return entries": "contested",
        "return of international payments": "iat",
    }
    current = None
    seen = 0
    for line in (SHARED / "returns.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("#### "):
            current = next((g for title, g in sections.items() if title in line), None)
        match = re.match(r"\| `(R\d\d)` \|", line)
        if match and current is not None:
            info = ach_return_reason(match.group(1))
            assert info is not None, match.group(1)
            assert info.group == current, match.group(1)
            seen += 1
    # then every code of the list is in one of them
    assert seen == len(ach_return_reasons())


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared samples not present at {SHARED}")
@pytest.mark.parametrize("name", ["nacha_return_codes.csv", "nacha_change_codes.csv"])
def test_the_packaged_csvs_are_unchanged_copies(name: str) -> None:
    packaged = resources.files(PACKAGE).joinpath(name).read_bytes()
    assert packaged == (SHARED / name).read_bytes()


def test_the_licence_and_notice_are_packaged_beside_the_data() -> None:
    folder = resources.files(PACKAGE)
    assert "Apache License" in folder.joinpath("LICENSE-moov-ach").read_text(encoding="utf-8")
    notice = folder.joinpath("NOTICE-ach.md").read_text(encoding="utf-8")
    assert "moov-io/ach" in notice
    assert "Apache" in notice


def test_importing_reads_nothing_and_the_tables_load_once() -> None:
    # given a fresh interpreter
    code = (
        "from recoup.domain.reference import ach\n"
        "print(ach._returns.cache_info().currsize, ach._changes.cache_info().currsize)\n"
        "ach.ach_return_reason('R01'); ach.ach_return_reason('R02')\n"
        "print(ach._returns.cache_info().currsize, ach._returns.cache_info().misses)\n"
    )
    # when the module is imported and then used
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    # then nothing was loaded at import, and the table is read once on first use
    assert out.split("\n")[:2] == ["0 0", "1 1"]
    assert ach.NAMESPACE == "ach"
