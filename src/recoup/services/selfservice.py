"""Self-service links: issue one for a case, and redeem the customer's choice.

The link is signed, expires, and is single use; a six-digit code goes with it (shown once to
whoever issues it, never stored: the grant keeps its keyed hash inside the token). Redeeming
checks the signature, the expiry, the nonce (unused, fewer than five wrong codes), the code and
that the action is one the link offers; then marks the grant used (audited) and moves the
case's climb: ``retry_now`` runs the next retry, an update or confirmation goes on to the next
step, a payment plan stops the climb for a person to set up, a dispute escalates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recoup.domain.audit import AuditEntry
from recoup.domain.errors import ConflictError, InvalidInputError, PermissionDeniedError
from recoup.domain.ports import Clock, UnitOfWorkFactory
from recoup.domain.recovery.ladder import ladder_for
from recoup.domain.recovery.selfservice import (
    SelfServiceGrant,
    WrongCodeError,
    eligible_actions,
    issue_link,
    read_link,
    redeem,
)
from recoup.domain.recovery.store import GrantRecord
from recoup.services.recovery import Recovery, apply_choice

ACTOR = "customer:self-service"


@dataclass(frozen=True)
class IssuedLink:
    grant: SelfServiceGrant
    url: str


def issue_case_link(
    id_or_prefix: str,
    actions: Sequence[str] | None,
    *,
    actor: str,
    uow: UnitOfWorkFactory,
    clock: Clock,
    recovery: Recovery,
) -> IssuedLink:
    """A link for an open case offering ``actions`` (default: what its ladder's current step
    offers). The code is in the returned grant only."""
    if not recovery.secret:
        raise InvalidInputError("self-service links need RECOUP_SECURITY__SECRET_KEY")
    now = clock.now()
    with uow() as tx:
        case = tx.find_case(id_or_prefix)
        if not case.is_open:
            raise ConflictError(f"case {case.id} is {case.status.value}; links are for open cases")
        state = tx.climbs([case.id]).get(case.id)
        spec = ladder_for(recovery.ladders, case.type)
        step = (
            spec.steps[state.step_index] if state and state.step_index < len(spec.steps) else None
        )
        offered = list(actions or eligible_actions(case.type, case.pauses_automation, step))
        if not offered:
            raise InvalidInputError(
                f"case {case.id}: nothing to offer at this step; name --actions"
            )
        grant = issue_link(case.id, offered, now=now, ttl=recovery.link_ttl,
                           secret=recovery.secret, nonce_source=recovery.nonce_source)  # fmt: skip
        tx.add_grant(GrantRecord(grant.nonce, case.id, grant.actions, now, grant.expires_at))
        tx.append_audit([AuditEntry(now, actor, "selfservice.issued", "case", case.id,
                                    {"nonce": grant.nonce, "actions": list(grant.actions),
                                     "expires_at": grant.expires_at.isoformat()})])  # fmt: skip
        tx.commit()
    url = f"{recovery.public_url.rstrip('/')}/self-service/{grant.token}"
    return IssuedLink(grant, url)


def redeem_link(
    token: str,
    code: str,
    action: str,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    recovery: Recovery,
) -> str:
    """Redeem the customer's choice; returns the case id. A wrong code is counted (five close
    the link); a used, expired or forged link is refused and nothing moves."""
    now = clock.now()
    view = read_link(token, now=now, secret=recovery.secret, used=())
    with uow() as tx:
        grant = tx.grant(view.nonce)
        if grant is None:
            raise PermissionDeniedError("this link was not issued here")
        if grant.used_at is not None:
            raise ConflictError("this link was used already; ask for a new one")
        try:
            chosen = redeem(token, code, action, now=now, secret=recovery.secret, used=(),
                            failed_attempts=grant.failed_attempts)  # fmt: skip
        except WrongCodeError as exc:
            failures = tx.fail_grant(view.nonce)
            tx.append_audit([AuditEntry(now, ACTOR, "selfservice.wrong_code", "case",
                                        view.case_id, {"nonce": view.nonce,
                                                       "failures": failures})])  # fmt: skip
            tx.commit()
            raise exc
        if not tx.use_grant(view.nonce, action, now):
            raise ConflictError("this link was used already; ask for a new one")
        tx.append_audit([AuditEntry(now, ACTOR, "selfservice.redeemed", "case", chosen.case_id,
                                    {"nonce": chosen.nonce, "action": action,
                                     "move": chosen.move.value})])  # fmt: skip
        tx.commit()
    apply_choice(chosen.case_id, chosen.move, f"the customer chose {action}", uow=uow,
                 clock=clock, recovery=recovery)  # fmt: skip
    return chosen.case_id
