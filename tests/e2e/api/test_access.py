"""Who may call what: every operation of the OpenAPI document, as every role and as nobody.

``ACCESS`` names the permission each operation needs. The completeness test fails when the
app has an operation the table does not list (or the table lists one the app no longer has),
so a new route cannot ship without a decision about who may call it.

A role holding the permission must get past the check (any status but 401 and 403; the dummy
ids and bodies mostly earn a 404 or 422); a role without it gets 403; a request without
credentials gets 401. Nothing may answer 5xx.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from recoup.bootstrap import App
from recoup.domain.identity import ROLE_PERMISSIONS, Permission, Role
from recoup.entrypoints.api.app import create_app
from tests.e2e.api.api_support import ROLES, Client
from tests.e2e.api.api_support import client_as as client_as

ANY = "any"
"""Any authenticated principal."""
PUBLIC = "public"
"""No credentials needed (logging in)."""

R, W, A, AD, AU = (Permission.READ, Permission.WORK, Permission.APPROVE, Permission.ADMIN,
                   Permission.AUDIT)  # fmt: skip

ACCESS: dict[tuple[str, str], Permission | str] = {
    # identity (auth.py)
    ("POST", "/api/v1/session"): PUBLIC,
    ("DELETE", "/api/v1/session"): ANY,
    ("GET", "/api/v1/me"): ANY,
    ("GET", "/api/v1/users"): AD,
    ("POST", "/api/v1/users"): AD,
    ("PATCH", "/api/v1/users/{name}"): AD,
    ("GET", "/api/v1/keys"): AD,
    ("POST", "/api/v1/keys"): AD,
    ("DELETE", "/api/v1/keys/{key_id}"): AD,
    # events and findings
    ("GET", "/api/v1/events"): R,
    ("GET", "/api/v1/events/{event_id}"): R,
    ("GET", "/api/v1/findings"): R,
    ("GET", "/api/v1/findings/{finding_id}"): R,
    # cases
    ("GET", "/api/v1/cases"): R,
    ("GET", "/api/v1/cases/{case_id}"): R,
    ("POST", "/api/v1/cases/{case_id}/transitions"): W,
    ("POST", "/api/v1/cases/{case_id}/resolve"): W,
    ("POST", "/api/v1/cases/{case_id}/reopen"): W,
    ("POST", "/api/v1/cases/{case_id}/assign"): W,
    ("POST", "/api/v1/cases/{case_id}/snooze"): W,
    ("POST", "/api/v1/cases/{case_id}/wake"): W,
    ("POST", "/api/v1/cases/{case_id}/notes"): W,
    ("POST", "/api/v1/cases/{case_id}/attachments"): W,
    ("GET", "/api/v1/cases/{case_id}/attachments/{attachment_id}"): R,
    ("POST", "/api/v1/cases/bulk"): W,
    # queues, policies
    ("GET", "/api/v1/queues"): R,
    ("GET", "/api/v1/policies"): R,
    ("POST", "/api/v1/policies/validate"): AD,
    ("POST", "/api/v1/policies/backtest"): AD,
    # reconciliation
    ("GET", "/api/v1/reconcile/runs"): R,
    ("GET", "/api/v1/reconcile/runs/{run_id}"): R,
    ("GET", "/api/v1/reconcile/breaks"): R,
    ("GET", "/api/v1/reconcile/suggestions"): R,
    ("POST", "/api/v1/reconcile/suggestions/{match_id}/confirm"): W,
    ("POST", "/api/v1/reconcile/suggestions/{match_id}/reject"): W,
    # ledger, audit, quarantine
    ("GET", "/api/v1/ledger/entries"): R,
    ("GET", "/api/v1/audit/verify"): AU,
    ("GET", "/api/v1/audit/export"): AU,
    ("GET", "/api/v1/quarantine"): R,
    ("POST", "/api/v1/quarantine/{item_id}/replay"): AD,
    ("POST", "/api/v1/quarantine/{item_id}/discard"): AD,
    # sensitive actions and approvals (approvals.py)
    ("POST", "/api/v1/cases/{case_id}/write-off"): W,
    ("POST", "/api/v1/cases/{case_id}/provisional-credit"): W,
    ("POST", "/api/v1/reconcile/force-match"): W,
    ("GET", "/api/v1/approvals"): R,
    ("GET", "/api/v1/approvals/{approval_id}"): R,
    ("POST", "/api/v1/approvals/{approval_id}/approve"): A,
    ("POST", "/api/v1/approvals/{approval_id}/deny"): A,
    # outbound webhooks and metrics (notify_routes.py)
    ("GET", "/api/v1/webhooks/subscriptions"): R,
    ("POST", "/api/v1/webhooks/subscriptions"): AD,
    ("POST", "/api/v1/webhooks/subscriptions/{subscription_id}/disable"): AD,
    ("GET", "/api/v1/webhooks/deliveries"): R,
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/redeliver"): AD,
    ("GET", "/api/v1/metrics"): R,
    # assist (assist_routes.py)
    ("GET", "/api/v1/cases/{case_id}/suggestions"): R,
    ("POST", "/api/v1/cases/{case_id}/suggestions"): W,
    ("POST", "/api/v1/cases/{case_id}/suggestions/{field}/accept"): W,
    ("POST", "/api/v1/cases/{case_id}/suggestions/{field}/override"): W,
    ("GET", "/api/v1/cases/{case_id}/summary"): R,
    ("GET", "/api/v1/assist/models"): R,
}

DUMMY_ID = "00000000-0000-4000-8000-000000000001"
MULTIPART = {
    "/api/v1/cases/{case_id}/attachments": "file",
    "/api/v1/policies/validate": "files",
    "/api/v1/policies/backtest": "files",
}


def operations(app: App) -> set[tuple[str, str]]:
    spec = create_app(app, {}).openapi()
    return {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops
            if path.startswith("/api") and method != "parameters"}  # fmt: skip


def call(client: Any, method: str, path: str) -> int:
    url = re.sub(r"\{name\}", "nobody", path)
    url = re.sub(r"\{[a-z_]+\}", DUMMY_ID, url)
    kwargs: dict[str, Any] = {}
    if path in MULTIPART:
        kwargs["files"] = [(MULTIPART[path], ("x.json", b"{}", "application/json"))]
    elif method in ("POST", "PATCH", "PUT"):
        kwargs["json"] = {}
    status: int = client.request(method, url, **kwargs).status_code
    return status


def allowed(permission: Permission | str, role: str | None) -> bool:
    if permission == PUBLIC:
        return True
    if role is None:
        return False
    return permission == ANY or permission in ROLE_PERMISSIONS[Role(role)]


def test_every_operation_has_an_access_rule(app: App) -> None:
    present = operations(app)
    missing = sorted(present - ACCESS.keys())
    stale = sorted(ACCESS.keys() - present)
    assert (missing, stale) == ([], []), "update ACCESS: (missing, no longer in the app)"


@pytest.mark.parametrize("role", [*ROLES, None], ids=[*ROLES, "anonymous"])
def test_each_role_gets_exactly_its_operations(
    app: App, client_as: Client, role: str | None
) -> None:
    client = client_as(role) if role else client_as()
    wrong: list[str] = []
    for (method, path), permission in sorted(ACCESS.items()):
        status = call(client, method, path)
        if status >= 500:
            wrong.append(f"{method} {path}: {status}")
        elif permission == PUBLIC:
            continue
        elif role is None and status != 401:
            wrong.append(f"{method} {path}: {status}, expected 401")
        elif role is not None and allowed(permission, role) and status in (401, 403):
            wrong.append(f"{method} {path}: {status}, expected access")
        elif role is not None and not allowed(permission, role) and status != 403:
            wrong.append(f"{method} {path}: {status}, expected 403")
    assert wrong == []


def test_a_principal_with_several_roles_holds_their_union(app: App, client_as: Client) -> None:
    client = client_as("viewer", "auditor")
    assert call(client, "GET", "/api/v1/audit/verify") == 200
    assert call(client, "GET", "/api/v1/events") == 200
    assert call(client, "POST", "/api/v1/cases/bulk") == 403
