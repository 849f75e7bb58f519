"""`recoup users` and `recoup keys` as an admin runs them: the first admin is made from the
shell, a key's token is printed once, errors are one line with the category's exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recoup.entrypoints.cli.main import create_cli

runner = CliRunner()
PASSWORD = "correct horse battery"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("RECOUP_DATABASE__URL", url)
    monkeypatch.chdir(tmp_path)
    return url


def recoup(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(create_cli(), list(args), input=stdin)
    return result.exit_code, result.output


def test_users_are_added_listed_changed_and_disabled(db: str) -> None:
    assert recoup("users", "add", "Root", "--role", "admin", "--password-stdin",
                  stdin=PASSWORD + "\n") == (0, "user root added with roles admin\n")  # fmt: skip
    code, out = recoup("users", "add", "ana", "--role", "operator", "--role", "viewer",
                       "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert (code, out) == (0, "user ana added with roles operator, viewer\n")

    code, out = recoup("users", "list", "--json")
    assert code == 0
    assert [(u["name"], u["roles"], u["is_active"]) for u in json.loads(out)] == [
        ("ana", ["operator", "viewer"], True), ("root", ["admin"], True),
    ]  # fmt: skip
    assert "password" not in out

    assert recoup("users", "roles", "ana", "--role", "approver")[0] == 0
    assert recoup("users", "password", "ana", "--password-stdin",
                  stdin="another long password\n")[0] == 0  # fmt: skip
    assert recoup("users", "disable", "ana") == (0, "user ana is disabled\n")
    code, out = recoup("users", "list", "--json")
    assert next((u["name"], u["roles"], u["is_active"]) for u in json.loads(out)) == (
        "ana", ["approver"], False,
    )  # fmt: skip


def test_bad_input_is_one_line_with_its_exit_code(db: str) -> None:
    code, out = recoup("users", "add", "ana", "--role", "boss", "--password-stdin",
                       stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 3
    assert "unknown role 'boss'" in out
    code, out = recoup("users", "add", "ana", "--role", "viewer", "--password-stdin",
                       stdin="short\n")  # fmt: skip
    assert code == 3
    assert "too short" in out
    code, out = recoup("users", "add", "ana", "--role", "viewer")  # no terminal, no stdin flag
    assert code == 3
    assert "--password-stdin" in out
    assert recoup("users", "disable", "ghost")[0] == 4
    recoup("users", "add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    code, out = recoup("users", "disable", "root")
    assert code == 5
    assert "last active admin" in out


def test_a_key_token_is_printed_once_and_revoked(db: str) -> None:
    code, out = recoup("keys", "create", "ci", "--role", "viewer", "--json")
    assert code == 0
    made = json.loads(out)
    assert made["token"].startswith(f"rk_{made['id']}_")

    code, listed = recoup("keys", "list", "--json")
    assert [k["name"] for k in json.loads(listed)] == ["ci"]
    assert made["token"] not in listed
    assert "token" not in listed
    assert recoup("keys", "revoke", made["id"]) == (0, f"key ci (id {made['id']}) is revoked\n")
    code, listed = recoup("keys", "list", "--json")
    assert json.loads(listed)[0]["revoked_by"] == "user:cli"
    assert recoup("keys", "revoke", "nope")[0] == 4
