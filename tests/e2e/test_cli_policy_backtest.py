"""`recoup policy backtest`: a changed write-off threshold reports exactly the cases that change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from recoup.adapters.policy import DEFAULT_POLICY_PATH
from tests.e2e.test_cli import db as db
from tests.e2e.test_cli import recoup


def write_failures(path: Path, amounts: list[str]) -> None:
    lines = [
        {"source": "stripe", "external_id": f"f{n}", "type": "payment.failed",
         "occurred_at": f"2026-11-01T10:{n:02d}:00Z", "amount": amount, "currency": "EUR",
         "reason_code": "stripe:insufficient_funds",
         "refs": {"payment": f"pi_{amount}", "customer": f"c{n}"}}
        for n, amount in enumerate(amounts)
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")


def candidate_with_threshold(folder: Path, threshold: str) -> Path:
    shutil.copytree(DEFAULT_POLICY_PATH, folder)
    graph = folder / "decide.json"
    text = graph.read_text()
    assert '"< 5"' in text
    graph.write_text(text.replace('"< 5"', f'"< {threshold}"'))
    return folder


def test_a_raised_write_off_threshold_reports_exactly_the_cases_it_changes(
    db: str,
    tmp_path: Path,
) -> None:
    events = tmp_path / "failures.jsonl"
    write_failures(events, ["3.00", "7.00", "12.00", "30.00"])
    assert recoup("ingest", str(events))[0] == 0

    same = candidate_with_threshold(tmp_path / "same", "5")
    code, out = recoup("policy", "backtest", str(same))
    assert code == 0, out
    assert "4 cases re-decided: 0 would change" in out

    raised = candidate_with_threshold(tmp_path / "raised", "20")
    code, out = recoup("policy", "backtest", str(raised), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["cases"] == 4
    assert sorted(c["entity"] for c in report["changed"]) == ["payment:pi_12.00", "payment:pi_7.00"]
    assert all(c["changes"] == {"write_off": [False, True]} for c in report["changed"])
    assert report["newly_written_off"] == {"EUR": "19.00"}
    assert report["by_output"] == {"write_off": 2}

    code, out = recoup("policy", "backtest", str(raised))
    assert code == 0, out
    assert "write_off: 2" in out
    assert "newly written off: 19.00 EUR" in out
    assert "write_off False -> True" in out


def test_a_broken_candidate_is_refused(db: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "decide.json").write_text("{not json")
    code, out = recoup("policy", "backtest", str(broken))
    assert code == 7, out
    assert "decide.json" in out
