"""Merging duplicates: four eyes, everything moves in one transaction, tombstone, feed, audit."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from agentdesk.models import (
    AuditEntry,
    ChangeLog,
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerHistory,
    CustomerPhone,
    IdentityDocument,
    Interaction,
    MergeRequest,
    Product,
    Ticket,
)
from agentdesk.services.crm.caller_match import CallerMatcher
from agentdesk.services.crm.duplicate_review import review_list
from agentdesk.services.crm.duplicates import DuplicateFinder
from agentdesk.services.crm.merge import MergeRefused, MergeService
from agentdesk.services.crm.search import SearchService
from agentdesk.services.platform.reveal import reveal
from agentdesk.store.audit_log import verify_chain
from agentdesk.store.engine import read_session
from agentdesk.store.sync import CentralStore, Syncer, SyncScope
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.sync.port import DirectCentral
from tests.sync.conftest import make_cache
from tests.sync.factories import REF, seed_reference, ticket
from tests.ui_workspace.builders import FIELD_KEYRING, add_customer, add_interactions


@pytest.fixture
def store(central: Engine) -> CentralStore:
    seed_reference(central)
    return CentralStore(central, FIELD_KEYRING)


def _pair(store: CentralStore) -> tuple[uuid.UUID, uuid.UUID]:
    """Amelia twice: the second record has its own mobile, e-mail, ticket and calls."""
    keep = add_customer(store.engine, "Amelia", "Okafor")
    dupe = add_customer(
        store.engine, "Amelia", "Okafor", phone="+447700900999", email="amelia.o@example.org"
    )
    store.write("ticket.create", ticket(customer_id=str(dupe)), "alice")
    add_interactions(store.engine, dupe, 3, agent_ids=[REF.bob])
    return keep, dupe


def _count(engine: Engine, model: Any, customer_id: uuid.UUID) -> int:
    with read_session(engine) as s:
        return int(
            s.scalar(
                select(func.count()).select_from(model).where(model.customer_id == customer_id)
            )
            or 0
        )


def _merged(store: CentralStore) -> tuple[uuid.UUID, uuid.UUID, MergeService]:
    keep, dupe = _pair(store)
    service = MergeService(store)
    request = service.request(survivor_id=keep, merged_id=dupe, actor="sam", note="same person")
    service.approve(request.id, actor="pat", workstation="ws-9")
    return keep, dupe, service


def test_an_approved_merge_moves_everything_and_leaves_a_tombstone(store: CentralStore) -> None:
    keep, dupe = _pair(store)
    service = MergeService(store)
    request = service.request(survivor_id=keep, merged_id=dupe, actor="sam")
    assert request.state == "pending" and "same name" in request.reasons
    result = service.approve(request.id, actor="pat")
    engine = store.engine
    # The mobile and e-mail were new to the survivor: moved. The shared home number and
    # the identical address were already there: dropped, not doubled.
    assert result.moved["customer_phone"] == 1 and result.moved["customer_phone_dropped"] == 1
    assert result.moved["customer_email"] == 1 and result.moved["customer_address_dropped"] == 1
    assert result.moved["ticket"] == 1 and result.moved["interaction"] == 3
    assert _count(engine, CustomerPhone, keep) == 3 and _count(engine, CustomerEmail, keep) == 2
    assert _count(engine, CustomerAddress, keep) == 1
    assert _count(engine, IdentityDocument, keep) == 2 and _count(engine, Product, keep) == 4
    assert _count(engine, Ticket, keep) == 1 and _count(engine, Interaction, keep) == 3
    for model in (CustomerPhone, CustomerEmail, CustomerAddress, Product, Ticket, Interaction):
        assert _count(engine, model, dupe) == 0
    with read_session(engine) as s:
        tomb = s.get(Customer, dupe)
        assert tomb is not None and tomb.merged_into == keep and tomb.deleted_at is not None
        fields = set(s.scalars(select(CustomerHistory.field)))
        assert {"merged_into", "merged_from"} <= fields
        stored = s.get(MergeRequest, request.id)
        assert stored is not None and stored.state == "merged" and stored.decided_by == "pat"
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
        assert actions == ["customer.merge_requested", "customer.merged"]
        assert verify_chain(s).ok
        # The feed carries both aggregates and every moved ticket and interaction.
        feed = s.execute(select(ChangeLog.entity_type, ChangeLog.entity_id, ChangeLog.data)).all()
    kinds = [k for k, _, _ in feed]
    assert kinds.count("interaction") == 3 and kinds.count("ticket") >= 1
    tomb_rows = [d for k, i, d in feed if k == "customer" and i == dupe]
    assert tomb_rows[-1]["row"]["merged_into"] == str(keep)
    assert tomb_rows[-1]["phones"] == []  # the tombstone's card is empty on every desktop
    moved_ticket = [d for k, _, d in feed if k == "ticket"][-1]
    assert moved_ticket["row"]["customer_id"] == str(keep)


def test_search_and_caller_match_never_return_the_tombstone(store: CentralStore) -> None:
    keep, _dupe, _ = _merged(store)
    match = CallerMatcher(store.engine, source="central").match("+447700900999")
    assert [c.id for c in match.candidates] == [keep]  # the dupe's mobile, now the survivor's
    hits = SearchService(store.engine, "GB").search("Amelia Okafor").hits
    assert {h.id for h in hits} == {keep}
    assert review_list(store.engine) == ()


def test_the_date_of_birth_moves_re_encrypted_for_the_survivor(store: CentralStore) -> None:
    keep = add_customer(store.engine, "Amelia", "Okafor", date_of_birth=None)
    dupe = add_customer(store.engine, "Amelia", "Okafor", phone="+447700900999", email="a@b.org")
    service = MergeService(store)
    service.approve(service.request(survivor_id=keep, merged_id=dupe, actor="sam").id, actor="pat")
    shown = reveal(
        store.engine, FIELD_KEYRING, actor_login="pat", actor_role="supervisor",
        customer_id=keep, field="date_of_birth", reason_code="idv",
    )  # fmt: skip
    assert shown.value == "1980-05-17"


def test_the_requester_cannot_approve_and_nothing_changes(store: CentralStore) -> None:
    keep, dupe = _pair(store)
    service = MergeService(store)
    request = service.request(survivor_id=keep, merged_id=dupe, actor="sam")
    with pytest.raises(MergeRefused, match="another supervisor must approve") as err:
        service.approve(request.id, actor="sam")
    assert err.value.code == "four-eyes"
    assert _count(store.engine, Ticket, dupe) == 1
    view = service.get(request.id)
    assert view is not None and view.state == "pending"


@pytest.mark.parametrize("case", ["itself", "into-merged", "merged-again", "unknown"])
def test_impossible_merges_are_refused_in_words(store: CentralStore, case: str) -> None:
    _keep, dupe, service = _merged(store)
    other = add_customer(store.engine, "Noor", "Haddad", phone="+447700900111", email="n@h.org")
    survivor, merged, expected = {
        "itself": (other, other, "cannot be merged into itself"),
        "into-merged": (dupe, other, "was itself merged into another customer"),
        "merged-again": (other, dupe, "already merged"),
        "unknown": (other, uuid.uuid4(), "does not exist"),
    }[case]
    with pytest.raises(MergeRefused, match=expected):
        service.request(survivor_id=survivor, merged_id=merged, actor="sam")
    with read_session(store.engine) as s:
        assert s.scalar(select(func.count()).select_from(MergeRequest)) == 1


def test_a_request_whose_customers_changed_since_is_refused_and_outdated(
    store: CentralStore,
) -> None:
    keep, dupe = _pair(store)
    service = MergeService(store)
    request = service.request(survivor_id=keep, merged_id=dupe, actor="sam")
    store.write("customer.patch", {"id": str(dupe), "changes": {"segment": "premier"}}, "alice")
    with pytest.raises(MergeRefused, match="changed after the merge was requested"):
        service.approve(request.id, actor="pat")
    assert _count(store.engine, Ticket, dupe) == 1  # nothing moved
    view = service.get(request.id)
    assert view is not None and view.state == "outdated"
    with pytest.raises(MergeRefused, match="already outdated"):
        service.approve(request.id, actor="pat")


def test_a_failure_half_way_leaves_nothing_half_written(store: CentralStore) -> None:
    keep = add_customer(store.engine, "Amelia", "Okafor", date_of_birth=None)
    dupe = add_customer(store.engine, "Amelia", "Okafor", phone="+447700900999", email="a@b.org")
    request = MergeService(store).request(survivor_id=keep, merged_id=dupe, actor="sam")
    # The same store without the field key cannot carry the date of birth over: it refuses
    # after the contacts were already moved inside the transaction, which must roll back.
    keyless = MergeService(CentralStore(store.engine, None))
    with pytest.raises(MergeRefused, match="no field key"):
        keyless.approve(request.id, actor="pat")
    assert _count(store.engine, CustomerPhone, dupe) == 2
    assert _count(store.engine, CustomerPhone, keep) == 2
    with read_session(store.engine) as s:
        tomb = s.get(Customer, dupe)
        assert tomb is not None and tomb.merged_into is None and tomb.deleted_at is None
        assert s.scalar(select(func.count()).select_from(ChangeLog)) == 0


def test_a_rejected_request_is_final_and_audited(store: CentralStore) -> None:
    keep, dupe = _pair(store)
    service = MergeService(store)
    request = service.request(survivor_id=keep, merged_id=dupe, actor="sam")
    with pytest.raises(MergeRefused, match="already awaiting approval"):
        service.request(survivor_id=dupe, merged_id=keep, actor="pat")
    assert service.reject(request.id, actor="pat", note="different people").state == "rejected"
    with pytest.raises(MergeRefused, match="already rejected"):
        service.approve(request.id, actor="lee")
    with read_session(store.engine) as s:
        assert "customer.merge_rejected" in set(s.scalars(select(AuditEntry.action)))


def test_dismissed_pairs_leave_the_list(store: CentralStore) -> None:
    _pair(store)
    DuplicateFinder(store.engine, FIELD_KEYRING).scan()
    (row,) = review_list(store.engine)
    MergeService(store).dismiss(row.id, actor="sam")
    assert review_list(store.engine) == ()
    with pytest.raises(MergeRefused, match="already dismissed"):
        MergeService(store).dismiss(row.id, actor="sam")


def test_an_older_tombstone_follows_to_the_new_survivor(store: CentralStore) -> None:
    keep, dupe, service = _merged(store)
    third = add_customer(store.engine, "Amelia", "Okafor", phone="+447700900777", email="c@d.org")
    request = service.request(survivor_id=third, merged_id=keep, actor="sam")
    service.approve(request.id, actor="pat")
    with read_session(store.engine) as s:
        assert s.get(Customer, dupe).merged_into == third  # type: ignore[union-attr]
        assert s.get(Customer, keep).merged_into == third  # type: ignore[union-attr]
    assert _count(store.engine, Interaction, third) == 3


def test_a_desktop_holding_the_duplicate_follows_it_to_the_survivor(
    store: CentralStore, tmp_path: Path
) -> None:
    keep, dupe = _pair(store)
    scope = SyncScope(team_ids=frozenset({REF.team_b}), agent_id=REF.alice)
    port = DirectCentral(store, scope, "alice", filter_pull=True)
    cache = make_cache(tmp_path / "desk.db")
    try:
        desk = Syncer(LocalStore(cache), port, scope, "alice")
        desk.ensure_filled()
        desk.cache_customers([dupe])  # the agent had the duplicate open (a search, a pop)
        with read_session(cache) as s:
            assert s.get(Customer, keep) is None and _count(cache, Interaction, dupe) == 3
        service = MergeService(store)
        service.approve(
            service.request(survivor_id=keep, merged_id=dupe, actor="sam").id, actor="pat"
        )
        desk.pull_all()
        with read_session(cache) as s:
            tomb = s.get(Customer, dupe)
            assert tomb is not None and tomb.merged_into == keep and tomb.deleted_at is not None
            survivor = s.get(Customer, keep)
            assert survivor is not None and survivor.deleted_at is None
            assert s.get(Customer, dupe) is not None
        assert _count(cache, Interaction, keep) == 3 and _count(cache, Interaction, dupe) == 0
        assert _count(cache, Ticket, keep) == 1 and _count(cache, Ticket, dupe) == 0
        assert _count(cache, CustomerPhone, dupe) == 0 and _count(cache, CustomerPhone, keep) == 3
    finally:
        cache.dispose()


def test_late_writes_for_the_duplicate_land_on_the_survivor(store: CentralStore) -> None:
    """A desktop that filed a wrap-up or a ticket on the duplicate before it heard of the
    merge: the centre files them under the customer the duplicate became."""
    keep, dupe, _ = _merged(store)
    late = ticket(customer_id=str(dupe))
    store.write("ticket.create", late, "bob")
    call = uuid.uuid4()
    store.write(
        "interaction.add",
        {
            "id": str(call), "customer_id": str(dupe), "channel": "phone",
            "direction": "inbound", "started_at": "2026-12-03T10:00:00+00:00",
            "agent_id": str(REF.bob),
        },
        "bob",
    )  # fmt: skip
    with read_session(store.engine) as s:
        assert s.get(Ticket, late["id"]).customer_id == keep  # type: ignore[union-attr]
        assert s.get(Interaction, call).customer_id == keep  # type: ignore[union-attr]


def test_protective_flags_of_the_duplicate_stay_on_the_survivor(store: CentralStore) -> None:
    keep = add_customer(store.engine, "Amelia", "Okafor")
    dupe = add_customer(
        store.engine, "Amelia", "Okafor", phone="+447700900999", email="a@b.org",
        marketing_opt_out=True, legal_hold=True,
    )  # fmt: skip
    service = MergeService(store)
    service.approve(service.request(survivor_id=keep, merged_id=dupe, actor="sam").id, actor="pat")
    with read_session(store.engine) as s:
        survivor = s.get(Customer, keep)
        assert survivor is not None and survivor.marketing_opt_out and survivor.legal_hold
        assert not survivor.vulnerable
        changes = set(
            s.scalars(select(CustomerHistory.field).where(CustomerHistory.customer_id == keep))
        )
    assert {"marketing_opt_out", "legal_hold", "merged_from"} <= changes
