"""Reveal: the only way a clear identity number or date of birth leaves the server.

The rules (``resources/reveal_policy.toml``):

* the actor's role must be allowed (agents and supervisors by default);
* the reason is a code from a fixed list, optionally with a short note;
* each agent may reveal at most N values per window. The count is read from
  the audit log itself, so the limit holds across server instances and
  restarts; on PostgreSQL a per-agent advisory lock stops two instances from
  both granting the last reveal of a window.

The audit entry is written in the same transaction as the read, and the
value is returned only after that transaction committed: if the audit write
fails, nobody sees the value. Refusals are audited too (in their own
transaction, as the refused request changes nothing else).

The server calls ``reveal`` for its endpoint. ``DirectRevealer`` adapts it to
the desktop's ``CustomerService.reveal`` for a process that holds the central
engine and the key itself (the demo until the desktop talks to the server).
"""

from __future__ import annotations

import datetime as dt
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from agentdesk.models import AuditEntry, Customer, IdentityDocument, utcnow
from agentdesk.paths import resource
from agentdesk.store.audit_log import append_audit
from agentdesk.store.engine import write_session
from agentdesk.store.field_crypto import FieldCipher, field_context

RevealField = Literal["identity_number", "date_of_birth"]
FIELDS: tuple[RevealField, ...] = ("identity_number", "date_of_birth")
REVEAL_ACTION = "pii.reveal"
REFUSED_ACTION = "pii.reveal_refused"


class RevealRefused(PermissionError):
    """The request breaks the policy; ``code`` says which rule (role, reason, rate, target)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class RevealRateLimited(RevealRefused):
    """The agent has used up the reveals of the current window."""


@dataclass(frozen=True)
class RevealedValue:
    """A clear value for display only, and the audit entry that records who saw it and why."""

    value: str
    audit_id: uuid.UUID
    field: str = ""


@dataclass(frozen=True)
class RevealReason:
    """One reason an agent may pick; ``code`` goes into the audit entry."""

    code: str
    label: str


@dataclass(frozen=True)
class RevealPolicy:
    """Allowed roles, the reason list and the per-agent rate limit."""

    roles: frozenset[str]
    reasons: tuple[RevealReason, ...]
    max_per_window: int = 10
    window: dt.timedelta = dt.timedelta(minutes=15)
    note_max_chars: int = 500

    @classmethod
    def load(cls, path: Path | None = None) -> RevealPolicy:
        """Read the policy file (``resources/reveal_policy.toml`` by default)."""
        path = path or resource("reveal_policy.toml")
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        policy = data.get("policy", {})
        reasons = tuple(RevealReason(str(r["code"]), str(r["label"])) for r in data["reason"])
        if not reasons:
            raise ValueError(f"{path}: no [[reason]] entries")
        return cls(
            roles=frozenset(str(r) for r in policy.get("roles", ("agent", "supervisor"))),
            reasons=reasons,
            max_per_window=int(policy.get("max_per_window", 10)),
            window=dt.timedelta(minutes=float(policy.get("window_minutes", 15))),
            note_max_chars=int(policy.get("note_max_chars", 500)),
        )

    def reason(self, code_or_label: str) -> RevealReason:
        """The listed reason with this code (or, for older desktops, this exact label)."""
        wanted = (code_or_label or "").strip()
        for reason in self.reasons:
            if wanted in (reason.code, reason.label):
                return reason
        allowed = ", ".join(r.code for r in self.reasons)
        raise RevealRefused(
            "reason", f"{wanted[:60]!r} is not a listed reason; use one of: {allowed}"
        )


_DEFAULT_POLICY: RevealPolicy | None = None


def default_policy() -> RevealPolicy:
    global _DEFAULT_POLICY
    if _DEFAULT_POLICY is None:
        _DEFAULT_POLICY = RevealPolicy.load()
    return _DEFAULT_POLICY


def _lock_agent(session: Session, actor_login: str) -> None:
    # Serialise one agent's reveals across server instances so the count below is exact.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"reveal:{actor_login}"}
        )


def _recent_reveals(session: Session, actor_login: str, since: dt.datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.actor == actor_login,
                AuditEntry.action == REVEAL_ACTION,
                AuditEntry.at >= since,
            )
        )
        or 0
    )


def _ciphertext(
    session: Session, customer_id: uuid.UUID, field: RevealField, document_id: uuid.UUID | None
) -> tuple[bytes, str, str]:
    """(ciphertext, its associated data, audited entity type) or ``RevealRefused``."""
    if field == "date_of_birth":
        blob = session.scalar(select(Customer.date_of_birth_enc).where(Customer.id == customer_id))
        if blob is None:
            raise RevealRefused("target", "no date of birth is on record for this customer")
        return blob, field_context("customer", "date_of_birth", customer_id), "customer"
    if document_id is None:
        raise RevealRefused("target", "say which identity document to reveal")
    row = session.execute(
        select(IdentityDocument.customer_id, IdentityDocument.number_enc).where(
            IdentityDocument.id == document_id
        )
    ).first()
    if row is None or row[0] != customer_id:
        raise RevealRefused("target", "no such identity document for this customer")
    if row[1] is None:
        raise RevealRefused("target", "this document's number is not on record")
    return row[1], field_context("identity_document", "number", document_id), "identity_document"


def _refuse(
    engine: Engine,
    exc: RevealRefused,
    details: dict[str, Any],
    actor_login: str,
    workstation: str | None,
) -> None:
    with write_session(engine) as session:
        append_audit(
            session,
            actor=actor_login,
            action=REFUSED_ACTION,
            reason=f"{exc.code}: {exc}"[:2000],
            details=details,
            workstation=workstation,
        )


def reveal(
    engine: Engine,
    cipher: FieldCipher,
    *,
    actor_login: str,
    actor_role: str,
    customer_id: uuid.UUID,
    field: str,
    document_id: uuid.UUID | None = None,
    reason_code: str,
    note: str | None = None,
    workstation: str | None = None,
    policy: RevealPolicy | None = None,
) -> RevealedValue:
    """Return one clear value after auditing it, or raise ``RevealRefused`` (also audited).

    ``actor_login`` and ``actor_role`` come from the server's session, never the request.
    The value is for display only: callers must not log, cache or store it.
    """
    policy = policy or default_policy()
    note = (note or "").strip() or None
    details: dict[str, Any] = {"customer_id": str(customer_id), "field": field}
    if document_id is not None:
        details["document_id"] = str(document_id)
    try:
        if actor_role not in policy.roles:
            raise RevealRefused("role", f"the {actor_role} role may not reveal identity data")
        if field not in FIELDS:
            raise RevealRefused("target", f"{field!r} cannot be revealed; use {', '.join(FIELDS)}")
        reason = policy.reason(reason_code)
        if note is not None and len(note) > policy.note_max_chars:
            raise RevealRefused(
                "reason", f"the note is limited to {policy.note_max_chars} characters"
            )
        details["reason_code"] = reason.code
        with write_session(engine) as session:
            _lock_agent(session, actor_login)
            since = utcnow() - policy.window
            if _recent_reveals(session, actor_login, since) >= policy.max_per_window:
                minutes = int(policy.window.total_seconds() // 60)
                raise RevealRateLimited(
                    "rate",
                    f"{policy.max_per_window} reveals in {minutes} minutes is the limit; "
                    "try again later or ask a supervisor",
                )
            blob, context, entity_type = _ciphertext(
                session,
                customer_id,
                field,  # checked against FIELDS above
                document_id,
            )
            value = cipher.decrypt(blob, context)
            entry = append_audit(
                session,
                action=REVEAL_ACTION,
                entity_type=entity_type,
                entity_id=str(document_id or customer_id),
                reason=reason.code if note is None else f"{reason.code}: {note}",
                details=details,
                actor=actor_login,
                workstation=workstation,
            )
            audit_id = entry.id
    except RevealRefused as exc:
        _refuse(engine, exc, details, actor_login, workstation)
        raise
    # Reached only once the transaction holding the audit entry has committed.
    return RevealedValue(value, audit_id, field)


class DirectRevealer:
    """``reveal`` bound to one signed-in agent, for a process holding the engine and key.

    Matches ``CustomerService``'s revealer hook: the desktop's targets ``document`` and
    ``date_of_birth``, and the reason as the code or label the agent picked.
    """

    def __init__(
        self,
        engine: Engine,
        cipher: FieldCipher,
        *,
        actor_login: str,
        actor_role: str,
        workstation: str | None = None,
        policy: RevealPolicy | None = None,
    ) -> None:
        self._engine = engine
        self._cipher = cipher
        self._actor = (actor_login, actor_role)
        self._workstation = workstation
        self._policy = policy

    def __call__(
        self, customer_id: uuid.UUID, target: str, target_id: uuid.UUID | None, reason: str
    ) -> RevealedValue:
        return reveal(
            self._engine,
            self._cipher,
            actor_login=self._actor[0],
            actor_role=self._actor[1],
            customer_id=customer_id,
            field="identity_number" if target == "document" else target,
            document_id=target_id if target == "document" else None,
            reason_code=reason,
            workstation=self._workstation,
            policy=self._policy,
        )
