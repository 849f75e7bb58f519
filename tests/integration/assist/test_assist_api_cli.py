"""Assist over HTTP (roles enforced, problems for bad input) and on the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recoup.bootstrap import App
from recoup.entrypoints.cli.common import reset_app
from recoup.entrypoints.cli.main import create_cli
from tests.e2e.api.api_support import Client
from tests.e2e.api.api_support import client_as as client_as
from tests.integration.assist.support import failure, open_cases


def test_suggestions_summary_and_models_over_http(app: App, client_as: Client) -> None:
    (case,) = open_cases(app, [failure("h1", "expired_card")]).values()
    viewer, operator = client_as("viewer"), client_as("operator", name="ann")

    empty = viewer.get(f"/api/v1/cases/{case.id[:8]}/suggestions")
    denied = viewer.post(
        f"/api/v1/cases/{case.id}/suggestions/root_cause/override", json={"value": "expired_card"}
    )
    bad = operator.post(
        f"/api/v1/cases/{case.id}/suggestions/root_cause/override", json={"value": "Not A Slug"}
    )
    unknown = operator.post(
        f"/api/v1/cases/{case.id}/suggestions/colour/override", json={"value": "red"}
    )
    done = operator.post(
        f"/api/v1/cases/{case.id}/suggestions/root_cause/override", json={"value": "expired_card"}
    )
    nothing = operator.post(f"/api/v1/cases/{case.id}/suggestions/next_action/accept")
    after = viewer.get(f"/api/v1/cases/{case.id}/suggestions")
    summary = viewer.get(f"/api/v1/cases/{case.id}/summary")
    models = viewer.get("/api/v1/assist/models")
    missing = viewer.get("/api/v1/cases/00000000/summary")

    assert empty.status_code == 200
    assert empty.json()["suggestions"] == []
    assert empty.json()["needs_person"] is False
    assert denied.status_code == 403
    assert bad.status_code == 422
    assert "lower-case word" in bad.text
    assert unknown.status_code == 422
    assert done.status_code == 200
    assert done.json()["verdict"] == "overridden"
    assert done.json()["decided_by"].endswith("ann")
    assert nothing.status_code == 404
    (row,) = after.json()["suggestions"]
    assert (row["field"], row["value_in_force"], row["model_version"]) == (
        "root_cause",
        "expired_card",
        "operator",
    )
    assert summary.status_code == 200
    assert summary.json()["what_happened"].startswith("payment failed on payment pi_h1")
    assert "40.00 EUR" in summary.json()["money_at_stake"]
    assert models.status_code == 200
    assert models.json() == {"models": [], "rates": []}
    assert missing.status_code == 404


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("RECOUP_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RECOUP_ASSIST__MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.chdir(tmp_path)
    reset_app()
    yield tmp_path
    reset_app()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(create_cli(), list(args))
    return result.exit_code, result.output


def test_the_cli_refuses_to_learn_early_then_trains_on_generated_history(cli_db: Path) -> None:
    code_early, out_early = run("assist", "train")
    code, out = run("assist", "train", "--generated", "400")
    code_models, models = run("assist", "models", "--json")
    code_eval, evaluated = run("assist", "evaluate", "--generated", "400", "--json")
    code_scan, scanned = run("assist", "scan")

    assert code_early == 5
    assert "only 0 labeled cases" in out_early
    assert code == 0, out
    assert "m0001-" in out
    assert "held-out quality" in out
    assert code_models == 0
    assert '"source": "generated:history"' in models
    assert (cli_db / "models").is_dir()
    assert code_eval == 0
    assert '"root_cause"' in evaluated
    assert code_scan == 0
    assert "0 new alert(s)" in scanned
