"""The customer's self-service link: a signed, expiring, single-use token and a one-time code.

The link carries the case, the actions it offers, its expiry and a random nonce, signed with
HMAC-SHA256 under the server's secret; anyone may read it, no one can change it. The six-digit
code goes to the customer by another message and is kept only as a keyed hash (inside the signed
token and in the grant record), compared in constant time. A link is redeemed once: the service
stores the redeemed nonce (unique) in the same transaction as the move it makes, and counts
wrong codes per nonce; after :data:`MAX_CODE_ATTEMPTS` wrong codes the link is dead.

Which actions a link may offer comes from the ladder step that sends it and the finding type
(:func:`eligible_actions`); what a chosen action does to the case is data (:data:`ACTIONS`), for
a service to apply through :func:`recoup.domain.recovery.ladder.intervene`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from recoup.domain.errors import ConflictError, InvalidInputError, PermissionDeniedError
from recoup.domain.recovery.ladder import Intervention, Step, StepKind

CODE_DIGITS = 6
MAX_CODE_ATTEMPTS = 5
"""Wrong codes a link survives; the next try is refused even with the right code."""
MAX_TTL = timedelta(days=30)
NONCE_BYTES = 16
TOKEN_VERSION = 1

_PAY = frozenset({"payment_failed", "retry_exhausted"})
_COLLECT = _PAY | {"missing_payment"}


@dataclass(frozen=True, slots=True)
class SelfServiceAction:
    """One thing a customer may choose. ``types``: the finding types it may ever be offered for;
    ``gathers_only``: it only hands us information, so a paused case may still offer it."""

    name: str
    types: frozenset[str]
    move: Intervention
    gathers_only: bool
    summary: str


# fmt: off
ACTIONS: dict[str, SelfServiceAction] = {a.name: a for a in (
    SelfServiceAction("retry_now", _PAY, Intervention.RETRY_NOW, False,
                      "try the payment again now"),
    SelfServiceAction("update_payment_method", _COLLECT, Intervention.INPUT_RECEIVED, False,
                      "the customer updated the payment method; waiting on them is over"),
    SelfServiceAction("payment_plan", _COLLECT, Intervention.STOP, False,
                      "the customer chose a payment plan; the climb ends"),
    SelfServiceAction("confirm_address", frozenset({"address_risk", "order_stalled",
                      "carrier_conflict"}), Intervention.INPUT_RECEIVED, True,
                      "the customer confirmed the address"),
    SelfServiceAction("upload_document", frozenset({"dispute_opened", "inquiry_opened",
                      "amount_mismatch", "missing_remittance", "tax_validation_failed"}),
                      Intervention.INPUT_RECEIVED, True, "a document was uploaded"),
    SelfServiceAction("dispute", _COLLECT | {"duplicate_charge", "amount_mismatch"},
                      Intervention.ESCALATE, False,
                      "the customer disputes the charge; a person takes the case"),
)}
# fmt: on


def action_problem(finding_type: str, action: str) -> str | None:
    """Why ``action`` may not be offered for ``finding_type``, or None."""
    known = ACTIONS.get(action)
    if known is None:
        return f"unknown self-service action {action!r}; known: {', '.join(ACTIONS)}"
    if finding_type not in known.types:
        return f"action {action!r} is not offered for {finding_type}"
    return None


def eligible_actions(finding_type: str, pauses_automation: bool, step: Step | None) -> list[str]:
    """The actions a link sent at ``step`` may offer: those the step lists that fit the type; on
    a paused case only information-gathering ones, and only from a step allowed while paused."""
    if step is None or step.kind is StepKind.ESCALATE:
        return []
    if pauses_automation and not step.while_paused:
        return []
    listed = step.params.get("actions", ())
    offered = (listed,) if isinstance(listed, str) else listed
    found: list[str] = []
    for name in offered:
        known = ACTIONS.get(name)
        if known is None or finding_type not in known.types or name in found:
            continue
        if pauses_automation and not known.gathers_only:
            continue
        found.append(name)
    return found


def move_for(action: str) -> Intervention:
    """What the chosen action does to the ladder (``intervene``)."""
    return ACTIONS[action].move


@dataclass(frozen=True, slots=True)
class SelfServiceGrant:
    """A link issued. ``code`` is shown once (sent to the customer) and never stored; store
    ``nonce``, ``code_hash``, ``expires_at`` and ``actions``."""

    case_id: str
    token: str
    code: str
    code_hash: str
    nonce: str
    expires_at: datetime
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LinkView:
    """A valid, unexpired, unused link, before its code is entered (what the page shows)."""

    case_id: str
    actions: tuple[str, ...]
    expires_at: datetime
    nonce: str


@dataclass(frozen=True, slots=True)
class Redemption:
    case_id: str
    action: str
    nonce: str
    move: Intervention


class WrongCodeError(PermissionDeniedError):
    """The code is not right."""

    code = "wrong_code"

    def __init__(self, nonce: str, attempts_left: int) -> None:
        self.nonce = nonce
        self.attempts_left = attempts_left
        super().__init__(
            f"the code is not right; {attempts_left} "
            f"{'try' if attempts_left == 1 else 'tries'} left"
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: bytes, purpose: str) -> bytes:
    """One key per purpose, so a code hash can never stand in for a signature."""
    if len(secret) < 16:
        raise InvalidInputError("the self-service secret must be at least 16 bytes")
    return hmac.new(secret, f"recoup/selfservice/{purpose}".encode(), hashlib.sha256).digest()


def _sign(secret: bytes, body: str) -> str:
    return _b64(hmac.new(_key(secret, "sign"), body.encode("ascii"), hashlib.sha256).digest())


def _code_hash(secret: bytes, nonce: str, code: str) -> str:
    message = f"{nonce}|{code}".encode()
    return hmac.new(_key(secret, "code"), message, hashlib.sha256).hexdigest()


def _draw_code(nonce_source: Callable[[int], bytes]) -> str:
    """A uniform six-digit code: four random bytes, redrawn above the last full million."""
    limit = (2**32 // 10**CODE_DIGITS) * 10**CODE_DIGITS
    for _ in range(64):
        value = int.from_bytes(_bytes(nonce_source, 4), "big")
        if value < limit:
            return f"{value % 10**CODE_DIGITS:0{CODE_DIGITS}d}"
    raise InvalidInputError("the random source keeps returning out-of-range values")


def _bytes(nonce_source: Callable[[int], bytes], size: int) -> bytes:
    data = nonce_source(size)
    if len(data) != size:
        raise InvalidInputError(f"the random source returned {len(data)} bytes, not {size}")
    return data


def issue_link(
    case_id: str,
    actions: Sequence[str],
    *,
    now: datetime,
    ttl: timedelta,
    secret: bytes,
    nonce_source: Callable[[int], bytes],
) -> SelfServiceGrant:
    """Sign a link for ``case_id`` offering ``actions`` (the caller took them from
    :func:`eligible_actions`) until ``now + ttl`` (to the second, rounded down)."""
    if now.tzinfo is None:
        raise InvalidInputError("now must be timezone-aware (UTC)")
    if not case_id.strip():
        raise InvalidInputError("a self-service link needs a case id")
    if not actions:
        raise InvalidInputError(f"case {case_id}: a self-service link needs at least one action")
    for action in actions:
        if action not in ACTIONS:
            raise InvalidInputError(f"case {case_id}: unknown self-service action {action!r}")
    if not timedelta(0) < ttl <= MAX_TTL:
        raise InvalidInputError(f"a link lives more than 0 and at most {MAX_TTL.days} days")
    offered = tuple(dict.fromkeys(actions))
    nonce = _bytes(nonce_source, NONCE_BYTES).hex()
    code = _draw_code(nonce_source)
    code_hash = _code_hash(secret, nonce, code)
    expires = int((now + ttl).timestamp())
    payload = {"v": TOKEN_VERSION, "c": case_id, "a": list(offered), "e": expires, "n": nonce,
               "h": code_hash}  # fmt: skip
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    token = f"{body}.{_sign(secret, body)}"
    expires_at = datetime.fromtimestamp(expires, UTC)
    return SelfServiceGrant(case_id, token, code, code_hash, nonce, expires_at, offered)


def _payload(token: str, secret: bytes) -> dict[str, Any]:
    invalid = PermissionDeniedError("this link is not valid (it was changed or not issued here)")
    body, dot, signature = token.partition(".")
    try:
        given = signature.encode("ascii")
        expected = _sign(secret, body).encode("ascii") if body.isascii() else b""
    except UnicodeEncodeError:
        raise invalid from None
    if not dot or not expected or not hmac.compare_digest(expected, given):
        raise invalid
    try:
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError):
        raise invalid from None
    shape = {"v": int, "c": str, "a": list, "e": int, "n": str, "h": str}
    if not isinstance(payload, dict) or set(payload) != set(shape) or payload["v"] != 1:
        raise invalid
    if not all(isinstance(payload[k], kind) for k, kind in shape.items()):
        raise invalid
    if not all(isinstance(a, str) for a in payload["a"]) or not payload["h"].isascii():
        raise invalid
    return payload


def _open(token: str, now: datetime, secret: bytes, used: Container[str]) -> dict[str, Any]:
    if now.tzinfo is None:
        raise InvalidInputError("now must be timezone-aware (UTC)")
    payload = _payload(token, secret)
    expires_at = datetime.fromtimestamp(payload["e"], UTC)
    if now >= expires_at:
        raise PermissionDeniedError(f"this link expired at {expires_at.isoformat()}")
    if payload["n"] in used:
        raise ConflictError("this link was already used; ask for a new one")
    return payload


def _view(payload: dict[str, Any]) -> LinkView:
    expires_at = datetime.fromtimestamp(payload["e"], UTC)
    return LinkView(payload["c"], tuple(payload["a"]), expires_at, payload["n"])


def read_link(token: str, *, now: datetime, secret: bytes, used: Container[str]) -> LinkView:
    """Check a link before its code is asked for: signature, expiry, not yet used."""
    return _view(_open(token, now, secret, used))


def redeem(
    token: str,
    code: str,
    action: str,
    *,
    now: datetime,
    secret: bytes,
    used: Container[str],
    failed_attempts: int = 0,
) -> Redemption:
    """Redeem a link once, for one of its actions. Refuses, in this order: a bad signature, an
    expired link, a used one (``ConflictError``), one with ``failed_attempts`` at the limit, a
    wrong code (:class:`WrongCodeError`: count it against the nonce), an action it does not
    offer. The caller stores the nonce as used with the move, in one transaction."""
    payload = _open(token, now, secret, used)
    view = _view(payload)
    if failed_attempts >= MAX_CODE_ATTEMPTS:
        raise PermissionDeniedError(
            f"too many wrong codes ({MAX_CODE_ATTEMPTS}); this link is closed, ask for a new one"
        )
    entered = code.strip().replace(" ", "")
    given = _code_hash(secret, view.nonce, entered) if entered.isascii() else ""
    if not hmac.compare_digest(given.encode("ascii"), payload["h"].encode("ascii")):
        raise WrongCodeError(view.nonce, MAX_CODE_ATTEMPTS - failed_attempts - 1)
    if action not in view.actions:
        raise PermissionDeniedError(
            f"this link does not offer {action!r}; it offers {', '.join(view.actions)}"
        )
    return Redemption(view.case_id, action, view.nonce, move_for(action))


__all__ = [
    "ACTIONS",
    "CODE_DIGITS",
    "MAX_CODE_ATTEMPTS",
    "MAX_TTL",
    "LinkView",
    "Redemption",
    "SelfServiceAction",
    "SelfServiceGrant",
    "WrongCodeError",
    "action_problem",
    "eligible_actions",
    "issue_link",
    "move_for",
    "read_link",
    "redeem",
]
