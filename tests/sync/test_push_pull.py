"""Push, pull, conflicts and recovery between desktops, on embedded SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from agentdesk.ids import uuid7
from agentdesk.models import (
    AppliedMutation,
    ChangeLog,
    ConflictReview,
    Customer,
    OutboxEntry,
    OutboxState,
    Ticket,
    TicketStatus,
)
from agentdesk.store.engine import read_session
from agentdesk.store.mutations import MutationOutcome, mutator
from agentdesk.store.sync import CentralStore, SyncScope, SyncSettings
from agentdesk.store.sync.protocol import PushEntry
from agentdesk.store.sync.verify import compare, explain
from tests.sync.conftest import Desk
from tests.sync.factories import REF, person, ticket

TEAM_A = SyncScope(team_ids=frozenset({REF.team_a}), agent_id=REF.bob)


@mutator("test.central_failure", "audit_entry")
def _fails_at_the_centre(session: Any, args: dict[str, Any], ctx: Any) -> MutationOutcome:
    """Succeeds on a desktop, raises a non-validation error at the centre (a poison entry)."""
    if ctx.side == "central":
        raise RuntimeError("simulated defect in a central mutator")
    return MutationOutcome({"status": "ok"})


def sync(*desks: Desk) -> None:
    """Two rounds so every desk sees what the others pushed."""
    for _ in range(2):
        for desk in desks:
            desk.syncer.cycle()


def converged(desk: Desk, centre: CentralStore) -> None:
    checks = compare(desk.engine, centre.engine, desk.syncer.scope)
    assert all(c.ok for c in checks), explain(checks)


def _get(desk: Desk | CentralStore, model: type[Any], key: Any) -> Any:
    with read_session(desk.engine) as s:
        return s.get(model, key)


def _count(engine: Any, model: type[Any], *where: Any) -> int:
    with read_session(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_writes_reach_other_desks_and_everyone_converges(
    centre: CentralStore, make_desk: Callable[..., Desk]
) -> None:
    alice, bob = make_desk("alice", centre), make_desk("bob", centre, TEAM_A)
    sync(alice, bob)
    cust = person()
    alice.writer.write("customer.create", cust)
    tick = ticket(customer_id=cust["id"])
    alice.writer.write("ticket.create", tick)
    alice.writer.write("ticket.comment", {"id": uuid7(), "ticket_id": tick["id"], "body": "first"})
    alice.writer.write(
        "interaction.add",
        {
            "id": uuid7(),
            "customer_id": cust["id"],
            "channel": "phone",
            "direction": "inbound",
            "started_at": dt.datetime.now(dt.UTC),
            "agent_id": REF.alice,
        },
    )
    sync(alice, bob)
    assert _get(bob, Ticket, tick["id"]).version == 1
    assert _get(alice, Ticket, tick["id"]).version == 1  # provisional 0 replaced by central truth
    assert _get(bob, Customer, cust["id"]).display_name == "Ada Lovelace"
    converged(alice, centre)
    converged(bob, centre)


def test_concurrent_offline_edits_merge_per_field(
    centre: CentralStore, make_desk: Callable[..., Desk]
) -> None:
    alice, bob = make_desk("alice", centre), make_desk("bob", centre)
    cust, tick = person(), ticket()
    alice.writer.write("customer.create", cust)
    alice.writer.write("ticket.create", tick)
    sync(alice, bob)
    # Both offline: each edits the same identity field, and different plain fields.
    alice.writer.write(
        "customer.patch",
        {"id": cust["id"], "changes": {"family_name": "Byron", "segment": "premier"}},
    )
    bob.writer.write(
        "customer.patch",
        {"id": cust["id"], "changes": {"family_name": "King", "preferred_language": "cy"}},
    )
    alice.writer.write("ticket.update", {"id": tick["id"], "changes": {"status": "resolved"}})
    bob.writer.write(
        "ticket.update", {"id": tick["id"], "changes": {"status": "pending", "priority": "urgent"}}
    )
    sync(alice, bob)
    row = _get(centre, Customer, cust["id"])
    assert (row.family_name, row.segment, row.preferred_language) == ("Byron", "premier", "cy")
    reviews = [(r.field, r.central_value, r.losing_value) for r in _all(centre, ConflictReview)]
    assert reviews == [("family_name", "Byron", "King")]
    t = _get(centre, Ticket, tick["id"])
    assert (t.status, t.priority.value) == (TicketStatus.RESOLVED, "urgent")
    for desk in (alice, bob):
        assert _get(desk, Customer, cust["id"]).family_name == "Byron"
        assert _get(desk, Ticket, tick["id"]).status == TicketStatus.RESOLVED
        converged(desk, centre)


def _all(store: Any, model: type[Any]) -> list[Any]:
    with read_session(store.engine) as s:
        return list(s.scalars(select(model)))


def test_retried_push_changes_nothing(centre: CentralStore, make_desk: Callable[..., Desk]) -> None:
    alice = make_desk("alice", centre)
    alice.syncer.ensure_filled()
    for _ in range(3):
        alice.writer.write("customer.create", person())
    batch = alice.local.pending_batch(10)
    first = centre.apply_batch(alice.syncer.client_id, "alice", batch)
    feed_rows = _count(centre.engine, ChangeLog)
    # The acknowledgement was lost: the desktop sends the same batch again.
    again = centre.apply_batch(alice.syncer.client_id, "alice", batch)
    assert [r.state for r in first.results] == ["applied"] * 3
    assert [r.state for r in again.results] == ["duplicate"] * 3
    assert [r.result for r in again.results] == [r.result for r in first.results]
    assert _count(centre.engine, ChangeLog) == feed_rows
    assert _count(centre.engine, AppliedMutation) == 3
    assert _count(centre.engine, Customer) == 3


def test_out_of_order_entry_is_refused(
    centre: CentralStore, make_desk: Callable[..., Desk]
) -> None:
    alice = make_desk("alice", centre)
    alice.syncer.ensure_filled()
    for _ in range(3):
        alice.writer.write("customer.create", person())
    batch = alice.local.pending_batch(10)
    centre.apply_batch(alice.syncer.client_id, "alice", batch[:1])
    reply = centre.apply_batch(alice.syncer.client_id, "alice", batch[2:])
    assert reply.gap_expected == batch[1].client_seq and reply.results == ()
    assert _count(centre.engine, Customer) == 1


def test_reused_client_id_is_detected(centre: CentralStore, make_desk: Callable[..., Desk]) -> None:
    alice = make_desk("alice", centre)
    alice.syncer.ensure_filled()
    alice.writer.write("customer.create", person())
    centre.apply_batch(alice.syncer.client_id, "alice", alice.local.pending_batch(1))
    impostor = PushEntry(1, uuid7(), "customer.create", person())
    with pytest.raises(Exception, match="new client id"):
        centre.apply_batch(alice.syncer.client_id, "alice", [impostor])


def test_rejection_is_surfaced_and_the_provisional_row_removed(
    centre: CentralStore, make_desk: Callable[..., Desk]
) -> None:
    alice, bob = make_desk("alice", centre), make_desk("bob", centre)
    cust = person()
    alice.writer.write("customer.create", cust)
    sync(alice, bob)
    bob.writer.write("customer.delete", {"id": cust["id"]})
    tick = ticket(customer_id=cust["id"])
    alice.writer.write("ticket.create", tick)  # offline: alice does not know yet
    sync(bob, alice)
    entry = _all(alice, OutboxEntry)[-1]
    assert (entry.state, entry.error_field) == (OutboxState.REJECTED, "customer_id")
    assert "no known customer" in (entry.error or "")
    assert _get(alice, Ticket, tick["id"]) is None
    assert _get(alice, Customer, cust["id"]).deleted_at is not None
    converged(alice, centre)


def test_pending_local_edit_is_not_overwritten_by_pull(
    centre: CentralStore, make_desk: Callable[..., Desk]
) -> None:
    alice, bob = make_desk("alice", centre), make_desk("bob", centre)
    tick = ticket()
    alice.writer.write("ticket.create", tick)
    sync(alice, bob)
    alice.writer.write("ticket.update", {"id": tick["id"], "changes": {"title": "Alice's title"}})
    bob.writer.write("ticket.update", {"id": tick["id"], "changes": {"priority": "high"}})
    bob.syncer.cycle()
    alice.syncer.pull_all()  # pull only: alice's edit is still pending
    local = _get(alice, Ticket, tick["id"])
    assert (local.title, local.priority.value) == ("Alice's title", "normal")
    alice.syncer.cycle()
    local = _get(alice, Ticket, tick["id"])
    assert (local.title, local.priority.value, local.version) == ("Alice's title", "high", 3)
    converged(alice, centre)


def test_poison_entry_is_retried_then_rejected_and_does_not_block(
    centre: CentralStore, make_desk: Callable[..., Desk]
) -> None:
    alice = make_desk("alice", centre)
    alice.syncer.ensure_filled()
    alice.writer.write("customer.create", person())
    alice.writer.write("test.central_failure", {"id": uuid7()})
    after = person()
    alice.writer.write("customer.create", after)
    attempts = 0
    while alice.local.outbox_counts()[0]:
        attempts += 1
        assert attempts < 20
        try:
            alice.syncer.push_all()
        except Exception as exc:
            assert "simulated defect" in str(exc)
    states = [(e.name, e.state) for e in _all(alice, OutboxEntry)]
    assert states == [
        ("customer.create", OutboxState.ACKED),
        ("test.central_failure", OutboxState.REJECTED),
        ("customer.create", OutboxState.ACKED),
    ]
    assert _get(centre, Customer, after["id"]) is not None


def test_pruned_feed_forces_a_resync_that_keeps_and_pushes_offline_work(
    centre: CentralStore, make_desk: Callable[..., Desk]
) -> None:
    alice, bob = make_desk("alice", centre), make_desk("bob", centre)
    sync(alice, bob)
    offline = person()
    alice.writer.write("customer.create", offline)  # alice goes offline with this
    for _ in range(3):
        bob.writer.write("customer.create", person())
    bob.syncer.cycle()
    assert centre.prune(dt.timedelta(seconds=-1)) > 0  # everything is "older than retention"
    alice.syncer.pull_all()  # the feed is gone: refills, then pushes the outbox
    assert alice.local.outbox_counts()[0] == 0
    assert _get(centre, Customer, offline["id"]) is not None
    alice.syncer.cycle()
    assert _count(alice.engine, Customer) == 4
    converged(alice, centre)


def test_refill_keeps_unsent_work(centre: CentralStore, make_desk: Callable[..., Desk]) -> None:
    alice = make_desk("alice", centre)
    cust, tick = person(), ticket()
    alice.writer.write("customer.create", cust)
    alice.writer.write("ticket.create", tick)
    alice.syncer.cycle()
    alice.writer.write("ticket.update", {"id": tick["id"], "changes": {"title": "edited offline"}})
    offline = person()
    alice.writer.write("customer.create", offline)
    alice.syncer.fill()
    assert _get(alice, Customer, offline["id"]).version == 0
    assert _get(alice, Ticket, tick["id"]).title == "edited offline"
    assert _get(alice, Customer, cust["id"]).version == 1
    alice.syncer.cycle()
    assert _get(alice, Ticket, tick["id"]).version == 2
    converged(alice, centre)


def test_refill_keeps_the_story_of_what_the_agent_is_editing(
    centre: CentralStore, make_desk: Callable[..., Desk]
) -> None:
    alice, bob = make_desk("alice", centre), make_desk("bob", centre, TEAM_A)
    cust = person()
    alice.writer.write("customer.create", cust)
    tick = ticket(customer_id=cust["id"], team_id=REF.team_b)  # not bob's team
    alice.writer.write("ticket.create", tick)
    comment = {"id": uuid7(), "ticket_id": tick["id"], "body": "older note"}
    alice.writer.write("ticket.comment", comment)
    alice.syncer.cycle()
    bob.syncer.cache_customers([cust["id"]])  # e.g. opened from a screen pop
    assert _get(bob, Ticket, tick["id"]) is not None
    bob.writer.write("customer.patch", {"id": cust["id"], "changes": {"segment": "premier"}})
    bob.syncer.fill()  # the customer is outside bob's scope but he is editing it
    assert _get(bob, Ticket, tick["id"]) is not None
    bob.syncer.cycle()
    converged(bob, centre)


def test_reference_data_is_refreshed_periodically(
    centre: CentralStore, make_desk: Callable[..., Desk]
) -> None:
    from agentdesk.models import Disposition
    from agentdesk.store.engine import write_session
    from agentdesk.store.sync import SyncSettings

    alice = make_desk("alice", centre, settings=SyncSettings(reference_every=0.0))
    with write_session(centre.engine) as s:
        s.add(Disposition(code="RESOLVED", label="Resolved on first contact"))
    assert _get(alice, Disposition, "RESOLVED") is None
    alice.syncer.cycle()
    assert _get(alice, Disposition, "RESOLVED").label == "Resolved on first contact"


def test_a_cycle_gets_to_its_pull_while_the_agent_keeps_writing(
    centre: CentralStore, make_desk: Callable[..., Desk], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push that never drains (writes arrive as fast as batches go) must not starve the pull:
    a cycle pushes what was queued when it began, then pulls; later writes go next cycle."""
    alice = make_desk("alice", centre, settings=SyncSettings(push_batch=2))
    bob = make_desk("bob", centre)
    theirs = person()
    bob.writer.write("customer.create", theirs)
    bob.syncer.cycle()
    send = alice.syncer.central.apply_batch
    batches = 0

    def send_while_typing(*args: Any) -> Any:
        nonlocal batches
        batches += 1
        assert batches < 30, "the push never ended, so the pull never ran"
        for _ in range(2):  # two new writes per batch of two: the outbox never empties
            alice.writer.write("customer.create", person())
        return send(*args)

    monkeypatch.setattr(alice.syncer.central, "apply_batch", send_while_typing)
    for _ in range(4):
        alice.writer.write("customer.create", person())
    report = alice.syncer.cycle()
    assert report.pushed == 4
    assert _get_local(alice, theirs["id"]) is not None
    assert alice.local.outbox_counts()[0] == 4  # written during the push: the next cycle's


def _get_local(desk: Desk, customer_id: object) -> Customer | None:
    with read_session(desk.engine) as s:
        return s.get(Customer, customer_id)
