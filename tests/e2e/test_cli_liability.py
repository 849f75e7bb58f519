"""`recoup liability ...` as a user runs it: validate a dispute's claim, decide, grant and take
back provisional credit; exit codes and one-line errors; the journal export shows the postings.

The group is mounted on a small Typer app here (``main.py`` registers it separately)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from recoup.entrypoints.cli.liability_cmds import liability_app
from recoup.entrypoints.cli.main import create_cli

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("RECOUP_DATABASE__URL", url)
    monkeypatch.chdir(tmp_path)
    return url


def recoup(*args: str) -> tuple[int, str]:
    result = runner.invoke(create_cli(), list(args))
    return result.exit_code, result.output


def liability(*args: str) -> tuple[int, str]:
    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    app.add_typer(liability_app, name="liability")
    result = runner.invoke(app, ["liability", *args])
    return result.exit_code, result.output


@pytest.fixture
def cases(db: str, tmp_path: Path) -> dict[str, str]:
    """Two opened Visa 10.4 disputes of 40.00 EUR, yesterday; dispute ref -> case id."""
    at = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    records = [
        {"source": "stripe", "external_id": f"d_{n}", "type": "dispute.opened",
         "occurred_at": at, "amount": "40.00", "currency": "EUR", "reason_code": "visa:10.4",
         "refs": {"dispute": f"dp_{n}", "charge": f"ch_{n}", "customer": f"cus_{n}"}}
        for n in (1, 2)
    ]  # fmt: skip
    path = tmp_path / "disputes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    code, out = recoup("ingest", str(path))
    assert code == 0, out
    code, out = recoup("cases", "list", "--status", "all", "--json")
    return {c["entity_key"]: c["id"] for c in json.loads(out)}


PASSING = [
    "--fact", "card_present=false", "--fact", "authentication=not_authenticated",
    "--fact", "cvv_matched=no", "--fact", "fraud_reported=yes", "--fact", "cardholder_denies=yes",
]  # fmt: skip


def test_validate_shows_each_check_and_the_choices(cases: dict[str, str]) -> None:
    code, out = liability("validate", cases["dp_1"][:8])

    assert code == 0, out
    assert out.splitlines()[0] == "visa:10.4: inconclusive"
    assert "time_limit: the transaction date is unknown" in out
    assert "one of: write_off, customer_liable, continue" in out

    day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    code, out = liability("validate", cases["dp_1"], "--json", "--fact",
                          f"transaction_at={day}", *PASSING)  # fmt: skip
    assert code == 0, out
    result = json.loads(out)
    assert (result["status"], result["choices"]) == ("passed", [])
    assert [c["status"] for c in result["checks"]] == ["passed"] * 7


def test_bad_input_is_one_line_with_exit_code_3(cases: dict[str, str]) -> None:
    code, out = liability("validate", cases["dp_1"], "--fact", "colour=red")
    assert (code, out.strip().splitlines()[0]) == (3, "error: field colour: unknown fact "
                                                      "'colour'; facts are transaction_at, "
                                                      "card_present, authentication, "
                                                      "cvv_matched, fraud_reported, "
                                                      "cardholder_denies")  # fmt: skip
    code, out = liability("validate", cases["dp_1"], "--fact", "card_present")
    assert code == 3
    assert "'card_present' is not name=value" in out
    code, out = liability("decide", cases["dp_1"], "--choose", "refund", "--reason", "x")
    assert code == 3
    assert "choice 'refund' is not allowed" in out
    assert liability("validate", "ffffffff")[0] == 4


def test_decide_posts_and_resolves_once_then_the_export_shows_it(
    cases: dict[str, str], tmp_path: Path
) -> None:
    code, out = liability("decide", cases["dp_1"], "--choose", "write_off", "--reason",
                          "no fraud report", "--actor", "ana")  # fmt: skip
    assert code == 0, out
    assert out.strip().endswith("resolved as written_off (status resolved)")

    code, out = liability("decide", cases["dp_1"], "--choose", "write_off", "--reason", "again")
    assert code == 5
    assert "is resolved: nothing to decide" in out

    code, out = liability("decide", cases["dp_2"], "--choose", "continue", "--reason",
                          "the cardholder called", "--json")  # fmt: skip
    assert code == 0, out
    assert (json.loads(out)["status"], json.loads(out)["outcome"]) == ("new", None)

    code, out = liability("provisional-credit", cases["dp_2"], "--product-type", "debit_card",
                          "--transaction-type", "pos", "--json")  # fmt: skip
    assert code == 0, out
    granted = json.loads(out)
    assert (granted["grant"], granted["amount"], granted["reversal_deadline_days"]) == (
        True, "40.00", 90,
    )  # fmt: skip
    assert granted["rule_id"] == "pc.debit_purchase_or_foreign"

    code, out = liability("reverse-credit", cases["dp_2"], "--reason", "the claim failed")
    assert code == 0, out
    assert "provisional credit 40.00 EUR of case" in out
    assert out.strip().endswith("taken back now")
    code, out = liability("reverse-credit", cases["dp_2"], "--reason", "the claim failed")
    assert code == 0, out
    assert "taken back already, at" in out

    journal = tmp_path / "journal.csv"
    code, out = recoup("ledger", "export", "--output", str(journal))
    assert code == 0, out
    with journal.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["kind"], r["account_code"], r["debit"], r["credit"]) for r in rows] == [
        ("write_off", "6100", "40.00", ""),
        ("write_off", "1100", "", "40.00"),
        ("provisional_credit", "1300", "40.00", ""),
        ("provisional_credit", "2300", "", "40.00"),
        ("provisional_credit_reversal", "2300", "40.00", ""),
        ("provisional_credit_reversal", "1300", "", "40.00"),
    ]  # fmt: skip
    code, out = recoup("audit", "verify")
    assert code == 0
    assert out.startswith("audit trail intact:")


def test_a_credit_card_gets_no_provisional_credit(cases: dict[str, str]) -> None:
    code, out = liability("provisional-credit", cases["dp_1"], "--product-type", "credit_card",
                          "--transaction-type", "pos")  # fmt: skip

    assert code == 0, out
    assert out.splitlines()[0] == "no provisional credit"
    assert "(pc.credit_card)" in out
    code, out = liability("reverse-credit", cases["dp_1"], "--reason", "nothing to take")
    assert code == 5
    assert "has no provisional credit to take back" in out
