"""The `recoup` command as a user runs it: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from recoup.adapters.store import migrate
from recoup.entrypoints.cli.main import create_cli
from tests.integration.test_ingest import MALFORMED, MONTH

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


def write_month(tmp_path: Path) -> Path:
    path = tmp_path / "month.jsonl"
    path.write_bytes(b"\n".join(json.dumps(r).encode() for r in MONTH) + b"\n" + MALFORMED[1])
    return path


def test_ingest_prints_what_was_read_accepted_and_quarantined(db: str, tmp_path: Path) -> None:
    code, out = recoup("ingest", str(write_month(tmp_path)))

    assert code == 0, out
    assert "records read 8 = accepted 7 (7 new, 0 duplicate) + quarantined 1" in out
    assert "cases opened 5" in out
    assert "line 8: Input data was truncated" in out


def test_ingest_twice_reports_duplicates(db: str, tmp_path: Path) -> None:
    path = write_month(tmp_path)
    recoup("ingest", str(path))

    code, out = recoup("ingest", str(path), "--batch-size", "2")

    assert code == 0
    assert "accepted 7 (0 new, 7 duplicate)" in out
    assert "cases opened 0" in out


def test_missing_file_is_one_line_with_exit_code_3(db: str) -> None:
    code, out = recoup("ingest", "nope.jsonl")

    assert code == 3
    assert out.strip() == "error: nope.jsonl: file not found"


def test_cases_list_and_show(db: str, tmp_path: Path) -> None:
    recoup("ingest", str(write_month(tmp_path)))

    code, out = recoup("cases", "list", "--owner", "disputes", "--json")
    assert code == 0
    (case,) = json.loads(out)
    assert (case["type"], case["entity_key"], case["queue"]) == (
        "dispute_opened", "dp_1", "disputes.policy",
    )  # fmt: skip

    code, out = recoup("cases", "show", case["id"][:8])
    assert code == 0, out
    assert "dispute opened (visa:10.4) for 20.00 EUR" in out
    assert "case.opened" in out
    assert "evidence events" in out

    code, out = recoup("cases", "show", case["id"], "--json")
    detail = json.loads(out)
    assert [e["external_id"] for e in detail["events"]] == ["e5"]
    assert [a["action"] for a in detail["audit"]] == ["case.opened"]


def test_case_errors_have_category_exit_codes(db: str, tmp_path: Path) -> None:
    recoup("ingest", str(write_month(tmp_path)))

    assert recoup("cases", "show", "ffffffff")[0] == 4
    code, out = recoup("cases", "show", "not-hex")
    assert (code, out.strip()) == (3, "error: 'not-hex' is not an id or the start of one")
    code, out = recoup("cases", "list", "--status", "sleeping")
    assert code == 3
    assert "unknown status 'sleeping'" in out


def test_quarantine_list_replay_and_discard(db: str, tmp_path: Path) -> None:
    recoup("ingest", str(write_month(tmp_path)))

    code, out = recoup("quarantine", "list", "--json")
    (item,) = json.loads(out)
    assert (item["line"], item["code"]) == (8, "truncated")

    code, out = recoup("quarantine", "replay", "--all")
    assert (code, out.splitlines()[0]) == (0, "replayed 0, still refused 1; findings 0, "
                                              "cases opened 0")  # fmt: skip
    assert recoup("quarantine", "replay")[0] == 3

    code, out = recoup("quarantine", "discard", item["id"][:8], "--reason", "test feed")
    assert code == 0, out
    assert json.loads(recoup("quarantine", "list", "--json")[1]) == []


def test_audit_verify_passes_and_then_fails_naming_the_record(db: str, tmp_path: Path) -> None:
    recoup("ingest", str(write_month(tmp_path)))
    code, out = recoup("audit", "verify")
    assert code == 0
    assert out.startswith("audit trail intact:")

    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        conn.exec_driver_sql("UPDATE audit_log SET data = '{}' WHERE seq = 2")
    engine.dispose()

    code, out = recoup("audit", "verify")
    assert code == 9
    assert "audit record 2: content was altered after it was written" in out


def test_db_upgrade_and_config_show(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    head = migrate.head_revision()
    code, out = recoup("db", "upgrade")
    assert (code, out.strip()) == (0, f"schema upgraded from empty to {head}")
    assert recoup("db", "upgrade")[1].strip() == f"schema already at {head}"

    monkeypatch.setenv("RECOUP_DATABASE__URL", "postgresql://ops:hunter2@db.internal/recoup")
    code, out = recoup("config", "show")
    shown = json.loads(out)
    assert code == 0
    assert "hunter2" not in out
    assert shown["database"]["url"] == "postgresql://ops:***@db.internal/recoup"
    assert shown["security"]["secret_key"] == "**********"


def test_unknown_setting_is_refused_with_exit_code_7(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOUP_DATABASE__URLL", "sqlite:///x.db")

    code, out = recoup("cases", "list")

    assert code == 7
    assert "unknown setting RECOUP_DATABASE__URLL" in out


def test_events_types_and_schema() -> None:
    code, out = recoup("events", "types")
    assert code == 0
    assert "payment.failed" in out
    code, out = recoup("events", "schema")
    assert json.loads(out) == json.loads(
        (Path(__file__).parents[2] / "docs" / "event-schema.json").read_text()
    )


def test_demo_twice_creates_nothing_new(db: str, tmp_path: Path) -> None:
    code, out = recoup("demo", "--payments", "1500", "--seed", "7")
    assert code == 0, out
    assert "records read" in out
    assert "money at stake in open cases" in out
    assert (tmp_path / "recoup-demo-month.jsonl").exists()
    first = out.split("records read")[1].split("\n")[0]
    assert "0 duplicate" in first

    code, out = recoup("demo", "--payments", "1500", "--seed", "7")

    assert code == 0
    again = out.split("records read")[1].split("\n")[0]
    assert "(0 new," in again
    assert "findings 0; cases opened 0" in out


FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_ingest_a_folder_detects_each_files_format(db: str, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for source, name in [
        ("mt940/abnamro.txt", "statement.sta"),
        ("iso20022/genkgo-camt/camt053.v2.multi.statement.xml", "camt053.xml"),
        ("ach/ppd-debit.ach", "debits.ach"),
        ("csv/generic-bank.csv", "bank.csv"),
    ]:
        (folder / name).write_bytes((FIXTURES / source).read_bytes())
    write_month(folder).rename(folder / "events.jsonl")
    (folder / ".hidden").write_text("ignored")

    code, out = recoup("ingest", str(folder))

    assert code == 0, out
    assert "bank.csv [csv:generic-bank]: read" in out
    assert "camt053.xml [camt.053]: read" in out
    assert "debits.ach [ach]: read" in out
    assert "events.jsonl [jsonl]: read 8" in out
    assert "statement.sta [mt940]: read" in out
    assert "5 of 5 files ingested" in out


def test_an_unrecognised_file_is_skipped_with_exit_code_3(db: str, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "notes.bin").write_bytes(b"\x00\x01 nothing we read")
    write_month(folder)

    code, out = recoup("ingest", str(folder))

    assert code == 3
    assert "skipped cannot tell the format of notes.bin" in " ".join(out.split())
    assert "1 of 2 files ingested" in out


def test_format_can_be_forced_and_unknown_formats_are_named(db: str, tmp_path: Path) -> None:
    path = tmp_path / "statement.dat"
    path.write_bytes((FIXTURES / "mt940/abnamro.txt").read_bytes())

    assert recoup("ingest", str(path), "--format", "mt940")[0] == 0
    code, out = recoup("ingest", str(path), "--format", "mt941")
    assert code == 3
    assert "unknown format 'mt941'" in out
    code, out = recoup("formats")
    assert "camt.053" in out
    assert "csv:paypal-activity" in out
