"""Reveal: role and reason from the policy, per-agent rate limit, no value without its audit."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, select

from agentdesk.models import AuditEntry, IdentityDocument
from agentdesk.services.platform import reveal as reveal_module
from agentdesk.services.platform.reveal import (
    RevealPolicy,
    RevealRateLimited,
    RevealRefused,
    reveal,
)
from agentdesk.store.audit_log import verify_chain
from agentdesk.store.engine import read_session
from tests.ui_workspace.builders import FIELD_KEYRING, add_customer


def _ask(engine: Engine, cid: uuid.UUID, **overrides: object) -> reveal_module.RevealedValue:
    kwargs: dict[str, object] = {
        "actor_login": "alice",
        "actor_role": "agent",
        "customer_id": cid,
        "field": "date_of_birth",
        "reason_code": "idv",
        "note": None,
        "workstation": "ws-3",
    }
    kwargs.update(overrides)
    return reveal(engine, FIELD_KEYRING, **kwargs)  # type: ignore[arg-type]


def _actions(engine: Engine) -> list[str]:
    with read_session(engine) as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_reveal_returns_the_value_and_audits_it(central: Engine) -> None:
    cid = add_customer(central)
    shown = _ask(central, cid, note="caller failed the security question")
    assert shown.value == "1980-05-17"
    with read_session(central) as s:
        entry = s.get(AuditEntry, shown.audit_id)
        assert entry is not None and entry.actor == "alice" and entry.action == "pii.reveal"
        assert entry.reason == "idv: caller failed the security question"
        assert entry.details["field"] == "date_of_birth" and entry.workstation == "ws-3"
        doc_id = s.scalar(select(IdentityDocument.id).where(IdentityDocument.customer_id == cid))
        assert verify_chain(s).ok
    number = _ask(central, cid, field="identity_number", document_id=doc_id, reason_code="fraud")
    assert number.value == "533401298"


def test_a_role_outside_the_policy_is_refused_and_audited(central: Engine) -> None:
    cid = add_customer(central)
    with pytest.raises(RevealRefused) as err:
        _ask(central, cid, actor_role="admin")
    assert err.value.code == "role"
    assert _actions(central) == ["pii.reveal_refused"]


def test_a_reason_not_on_the_list_is_refused(central: Engine) -> None:
    cid = add_customer(central)
    with pytest.raises(RevealRefused, match="not a listed reason") as err:
        _ask(central, cid, reason_code="curiosity")
    assert err.value.code == "reason"


def test_each_agent_is_rate_limited_from_the_audit_log(central: Engine) -> None:
    cid = add_customer(central)
    policy = RevealPolicy.load()
    tight = RevealPolicy(policy.roles, policy.reasons, max_per_window=3)
    for _ in range(3):
        _ask(central, cid, policy=tight)
    with pytest.raises(RevealRateLimited):
        _ask(central, cid, policy=tight)
    # Another agent has a budget of its own.
    assert _ask(central, cid, policy=tight, actor_login="bob").value == "1980-05-17"
    assert _actions(central).count("pii.reveal") == 4


def test_no_value_when_the_audit_entry_cannot_be_written(
    central: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = add_customer(central)

    def broken_audit(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit store full")

    monkeypatch.setattr(reveal_module, "append_audit", broken_audit)
    with pytest.raises(RuntimeError, match="audit store full"):
        _ask(central, cid)
    monkeypatch.undo()
    assert _actions(central) == []


def test_a_document_of_another_customer_is_refused(central: Engine) -> None:
    cid, other = add_customer(central), add_customer(central, "Noah", "Berg")
    with read_session(central) as s:
        doc = s.scalar(select(IdentityDocument.id).where(IdentityDocument.customer_id == other))
    with pytest.raises(RevealRefused, match="no such identity document"):
        _ask(central, cid, field="identity_number", document_id=doc)
