"""`recoup policy validate|test` through the CLI: exit codes and what is printed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from recoup.adapters.policy import DEFAULT_POLICY_PATH
from recoup.entrypoints.cli.main import create_cli

runner = CliRunner()
EXAMPLE = Path(__file__).parents[2] / "docs" / "policy-tests.example.json"


def recoup(*args: str) -> tuple[int, str]:
    result = runner.invoke(create_cli(), list(args))
    return result.exit_code, result.output


def broken(tmp_path: Path) -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(DEFAULT_POLICY_PATH, folder)
    graph = json.loads((folder / "decide.json").read_text())
    tier = next(n for n in graph["nodes"] if n["name"] == "tier")
    tier["content"]["rules"][0]["tier.out.tier"] = '"humn"'
    (folder / "decide.json").write_text(json.dumps(graph))
    return folder


def test_validate_the_default_pack() -> None:
    code, out = recoup("policy", "validate", str(DEFAULT_POLICY_PATH))
    assert (code, out.strip()) == (0, f"policy {DEFAULT_POLICY_PATH}: valid")


def test_validate_a_broken_pack_lists_file_node_and_rule(tmp_path: Path) -> None:
    code, out = recoup("policy", "validate", str(broken(tmp_path)))
    assert code == 3
    assert (
        "decide.json, node 'tier', rule 'tier.judgement_types' (row 1): tier: 'humn' is not one of"
        in out
    )


def test_the_example_test_file_passes() -> None:
    code, out = recoup("policy", "test", str(EXAMPLE), "--policy", str(DEFAULT_POLICY_PATH))
    assert code == 0
    assert out.splitlines()[-1] == "4 passed, 0 failed"


def test_a_failing_case_prints_the_difference_and_the_trace(tmp_path: Path) -> None:
    cases = json.loads(EXAMPLE.read_text())
    cases[1]["expect"]["tier"] = "human"
    file = tmp_path / "cases.jsonl"
    file.write_text("\n".join(json.dumps(c) for c in cases[:2]) + "\n")
    code, out = recoup("policy", "test", str(file), "--policy", str(DEFAULT_POLICY_PATH))
    assert code == 3
    lines = [line.strip() for line in out.splitlines()]
    assert "FAIL small failed payment finishes by automation" in lines
    assert "tier: expected 'human', got 'straight_through'" in lines
    assert "tier straight_through: table 'tier' row 5 (tier_hint = straight_through)" in lines
    assert lines[-1] == "1 passed, 1 failed"


def test_a_test_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "cases.json"
    file.write_text("[{")
    code, out = recoup("policy", "test", str(file), "--policy", str(DEFAULT_POLICY_PATH))
    assert code == 3
    assert "cases.json, line 1: not JSON" in out
