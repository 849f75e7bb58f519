"""Roles, names, key tokens, four-eyes and the approval rules, and the password adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from argon2 import PasswordHasher

from recoup.adapters.passwords import Argon2Credentials, fast_credentials
from recoup.domain.approvals import (
    Approval,
    ApprovalStatus,
    check_decision,
    check_request,
    needs_approval,
)
from recoup.domain.errors import ConflictError, InvalidInputError, PermissionDeniedError
from recoup.domain.identity import (
    ROLE_PERMISSIONS,
    Permission,
    Principal,
    Role,
    SensitiveAction,
    check_four_eyes,
    key_token,
    normalise_name,
    owner_actor,
    parties,
    roles_of,
    split_key_token,
)

T = datetime(2026, 10, 1, 12, tzinfo=UTC)
APPROVER = Principal("bea", frozenset({Role.APPROVER}))


def approval(**changes: object) -> Approval:
    fields: dict[str, object] = {
        "id": "a1", "action": SensitiveAction.WRITE_OFF, "target": "case-1",
        "params": {"amount": "900", "currency": "EUR"}, "reason": "gone", "requester": "ana",
        "status": ApprovalStatus.REQUESTED, "requested_at": T,
        "expires_at": T + timedelta(hours=72),
    }  # fmt: skip
    fields.update(changes)
    return Approval(**fields)  # type: ignore[arg-type]


def test_the_permission_matrix() -> None:
    assert {role: sorted(p.value for p in perms) for role, perms in ROLE_PERMISSIONS.items()} == {
        Role.VIEWER: ["read"],
        Role.OPERATOR: ["read", "work"],
        Role.APPROVER: ["approve", "read", "work"],
        Role.ADMIN: ["admin", "read", "work"],
        Role.AUDITOR: ["audit", "read"],
    }
    key = Principal("ci", frozenset({Role.VIEWER, Role.AUDITOR}), "key")
    assert key.actor == "key:ci"
    assert key.permissions == {Permission.READ, Permission.AUDIT}
    with pytest.raises(PermissionDeniedError, match="key:ci lacks the 'work' permission"):
        key.require(Permission.WORK)


def test_four_eyes_refuses_the_requester_and_non_approvers() -> None:
    check_four_eyes("ana", APPROVER)
    with pytest.raises(PermissionDeniedError, match="four-eyes"):
        check_four_eyes("bea", APPROVER)
    with pytest.raises(PermissionDeniedError, match="'approve'"):
        check_four_eyes("ana", Principal("root", frozenset({Role.ADMIN})))
    # A key named like a user is a different principal, and vice versa.
    check_four_eyes("key:bea", APPROVER)


def test_four_eyes_counts_a_key_and_its_makers_as_one_party() -> None:
    makers = {"bot": "ana", "bot2": "key:bot", "ci": "root"}
    owner = makers.get
    assert parties("key:bot2", owner) == {"key:bot2", "key:bot", "ana"}
    assert parties("ana", owner) == {"ana"}
    bot2 = Principal("bot2", frozenset({Role.APPROVER}), "key", owner="key:bot")
    with pytest.raises(PermissionDeniedError, match="one party"):
        check_four_eyes("ana", bot2, owner)  # through a key made by her key
    ana = Principal("ana", frozenset({Role.APPROVER}))
    with pytest.raises(PermissionDeniedError, match="one party"):
        check_four_eyes("key:bot", ana, owner)  # ana approving what her key asked
    check_four_eyes("key:ci", ana, owner)  # root's key, approved by ana
    check_four_eyes("key:bot", APPROVER, owner)  # ana's key, approved by bea
    assert owner_actor("user:ana") == "ana"
    assert owner_actor("key:bot") == "key:bot"


def test_a_chain_of_keys_that_loops_ends() -> None:
    loop = {"a": "key:b", "b": "key:a"}
    assert parties("key:a", loop.get) == {"key:a", "key:b"}


@pytest.mark.parametrize("name", ["Ana", " ana ", "ana.smith@example.org", "ci-runner_2"])
def test_names_are_normalised(name: str) -> None:
    assert normalise_name(name) == name.strip().lower()


@pytest.mark.parametrize("name", ["", "ana smith", "-ana", "a" * 65, "ana/../root", "ünï"])
def test_bad_names_are_refused_naming_the_field(name: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        normalise_name(name, field="name")
    assert refused.value.location.field == "name"


def test_roles_must_be_known_and_not_empty() -> None:
    assert roles_of(["Operator", "viewer", "viewer"]) == {Role.OPERATOR, Role.VIEWER}
    with pytest.raises(InvalidInputError, match="at least one role"):
        roles_of([])
    with pytest.raises(InvalidInputError, match="unknown role 'root'"):
        roles_of(["root"])


def test_key_tokens_split_back_into_id_and_secret() -> None:
    token = key_token("a1b2c3", "se_cr-et_")
    assert token == "rk_a1b2c3_se_cr-et_"
    assert split_key_token(token) == ("a1b2c3", "se_cr-et_")
    for bad in ("", "rk_", "rk_a1b2c3", "rk_a1b2c3_", "xx_a1_b2", "rk__secret"):
        assert split_key_token(bad) is None


def test_which_actions_need_approval() -> None:
    limit = Decimal("500")
    assert not needs_approval(SensitiveAction.WRITE_OFF, Decimal("500.00"), limit)
    assert needs_approval(SensitiveAction.WRITE_OFF, Decimal("500.01"), limit)
    assert needs_approval(SensitiveAction.WRITE_OFF, None, limit)
    assert needs_approval(SensitiveAction.PROVISIONAL_CREDIT, Decimal("0.01"), limit)
    assert needs_approval(SensitiveAction.FORCE_MATCH, None, limit)


def test_a_request_must_be_able_to_run() -> None:
    params = {"amount": "900", "currency": "EUR"}
    assert check_request(SensitiveAction.WRITE_OFF, "c1", params, "  gone  ") == "gone"
    with pytest.raises(InvalidInputError) as missing:
        check_request(SensitiveAction.FORCE_MATCH, "m1", {"left_ids": ["a"]}, "fee")
    assert missing.value.location.field == "params.right_ids"
    with pytest.raises(InvalidInputError) as reason:
        check_request(SensitiveAction.WRITE_OFF, "c1", params, " ")
    assert reason.value.location.field == "reason"


def test_an_approval_is_decided_once_and_expires() -> None:
    waiting = approval()
    check_decision(waiting, APPROVER, T + timedelta(hours=71))
    assert waiting.open_key == "write_off|case-1"
    assert waiting.status_at(T + timedelta(hours=72)) is ApprovalStatus.EXPIRED
    with pytest.raises(ConflictError, match="expired at"):
        check_decision(waiting, APPROVER, T + timedelta(hours=72))
    done = approval(status=ApprovalStatus.DENIED, decided_by="cy", decided_at=T)
    assert done.status_at(T + timedelta(days=9)) is ApprovalStatus.DENIED
    with pytest.raises(ConflictError, match="was denied by cy"):
        check_decision(done, APPROVER, T)
    with pytest.raises(PermissionDeniedError, match="four-eyes"):
        check_decision(approval(requester="bea"), APPROVER, T)


def test_passwords_hash_with_argon2id_and_verify() -> None:
    creds = fast_credentials()
    stored = creds.hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert creds.hash_password("correct horse") != stored  # salted
    assert creds.verify_password(stored, "correct horse")
    assert not creds.verify_password(stored, "correct horsE")
    assert not creds.verify_password("not a hash", "correct horse")
    # The test parameters are weaker than the defaults: a real deployment rehashes them.
    assert Argon2Credentials().needs_rehash(stored)
    assert not creds.needs_rehash(stored)
    assert Argon2Credentials().needs_rehash("garbage")


def test_secrets_are_random_and_stored_as_digests() -> None:
    creds = Argon2Credentials(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    secrets = {creds.new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(len(s) >= 43 for s in secrets)  # 32 bytes, URL-safe base64
    key_id = creds.new_key_id()
    assert len(key_id) == 12
    assert "_" not in key_id
    digest = creds.digest("abc")
    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
