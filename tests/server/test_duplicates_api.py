"""Duplicate review and four-eyes merges over HTTP: a real server on SQLite and PostgreSQL.

alice and bob are supervisors, carol an agent. Dates of birth are compared on
the server (it holds the field key); answers name reasons, not the values.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import insert, select, update

from agentdesk.client.api import ServerRefused
from agentdesk.client.duplicates import ServerDuplicates
from agentdesk.ids import uuid7
from agentdesk.models import Agent, AuditEntry, Customer, Role
from agentdesk.services.platform.auth import hash_password
from agentdesk.store.engine import read_session, write_session
from tests.server.conftest import PASSWORD, Desktop, RunningServer
from tests.ui_workspace.builders import add_customer


@pytest.fixture
def staff(server: RunningServer) -> None:
    with write_session(server.engine) as s:
        s.execute(update(Agent).values(role=Role.SUPERVISOR))
        s.execute(
            insert(Agent).values(
                id=uuid7(), login="carol", display_name="Carol", role=Role.AGENT,
                password_hash=hash_password(PASSWORD),
            )
        )  # fmt: skip


def _pair(server: RunningServer) -> tuple[uuid.UUID, uuid.UUID]:
    keep = add_customer(server.engine, "Amelia", "Okafor")
    dupe = add_customer(
        server.engine, "Amelia", "Okafor", phone="+447700900999", email="amelia.o@example.org"
    )
    return keep, dupe


def test_scan_review_request_and_approve_by_a_second_supervisor(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    keep, dupe = _pair(server)
    alice = ServerDuplicates(desktop("alice", fill=False).api)
    bob = ServerDuplicates(desktop("bob", fill=False).api)
    report = alice.scan()
    assert report.candidates == 1
    (row,) = alice.review_list()
    assert {row.left.id, row.right.id} == {keep, dupe}
    assert "same date of birth" in row.reasons  # decrypted and compared on the server
    assert "1980-05-17" not in str(row)
    request = alice.request_merge(keep, dupe, note="same caller, two records")
    (listed,) = bob.review_list()
    assert listed.pending is not None and listed.pending.requested_by == "alice"
    with pytest.raises(ServerRefused) as own:
        alice.approve(request.id)
    assert own.value.status == 403 and "another supervisor" in str(own.value)
    result = bob.approve(request.id)
    assert result.survivor_id == keep and result.moved["customer_phone"] == 1
    assert bob.review_list() == ()
    with read_session(server.engine) as s:
        assert s.get(Customer, dupe).merged_into == keep  # type: ignore[union-attr]
        audit = {
            (actor, action)
            for actor, action in s.execute(select(AuditEntry.actor, AuditEntry.action))
        }
    assert {
        ("alice", "customer.duplicate_scan"),
        ("alice", "customer.merge_requested"),
        ("bob", "customer.merged"),
    } <= audit
    with pytest.raises(ServerRefused) as again:
        bob.approve(request.id)
    assert again.value.status == 409 and "already merged" in str(again.value)


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("itself", 422, "cannot be merged into itself"),
        ("unknown", 404, "does not exist"),
        ("into-merged", 409, "was itself merged"),
    ],
)
def test_bad_merges_get_a_clear_answer(
    server: RunningServer,
    desktop: Callable[..., Desktop],
    staff: None,
    case: str,
    status: int,
    words: str,
) -> None:
    keep, dupe = _pair(server)
    alice = ServerDuplicates(desktop("alice", fill=False).api)
    bob = ServerDuplicates(desktop("bob", fill=False).api)
    if case == "into-merged":
        bob.approve(alice.request_merge(keep, dupe).id)
    survivor, merged = {
        "itself": (keep, keep),
        "unknown": (keep, uuid.uuid4()),
        "into-merged": (dupe, add_customer(server.engine, "Zed", "Quinn", phone="+4477009001")),
    }[case]
    with pytest.raises(ServerRefused) as err:
        alice.request_merge(survivor, merged)
    assert err.value.status == status and words in str(err.value)


def test_an_agent_may_neither_list_nor_merge(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    keep, dupe = _pair(server)
    carol = ServerDuplicates(desktop("carol", fill=False).api)
    for call in (carol.review_list, carol.scan, lambda: carol.request_merge(keep, dupe)):
        with pytest.raises(ServerRefused) as err:
            call()
        assert err.value.status == 403


def test_a_rejection_and_a_dismissal(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    _pair(server)
    alice = ServerDuplicates(desktop("alice", fill=False).api)
    alice.scan()
    (row,) = alice.review_list()
    request = alice.request_merge(row.left.id, row.right.id)
    with pytest.raises(ServerRefused) as err:
        alice.dismiss(row.id)
    assert err.value.status == 409 and "reject it instead" in str(err.value)
    assert alice.reject(request.id, "wrong pair").state == "rejected"  # a withdrawal
    alice.dismiss(row.id)
    assert alice.review_list() == ()
    assert alice.scan().opened == 0 and alice.review_list() == ()  # stays dismissed
