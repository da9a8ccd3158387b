"""Finding and merging duplicates works as the server's own PostgreSQL role (least privilege).

The merge updates rows the role otherwise only appends to (an interaction's customer) and
writes the duplicate tables: the grants must allow exactly that, and still refuse the rest.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from agentdesk.models import Customer, Interaction
from agentdesk.services.crm.duplicates import DuplicateFinder
from agentdesk.services.crm.merge import MergeService
from agentdesk.store.engine import read_session
from agentdesk.store.grants import apply_grants
from agentdesk.store.sync import CentralStore
from tests.store.test_grants import Site, refused, site  # noqa: F401
from tests.sync.factories import REF, seed_reference, ticket
from tests.ui_workspace.builders import FIELD_KEYRING, add_customer, add_interactions

pytestmark = pytest.mark.postgres


def test_scan_and_merge_as_the_server_role(site: Site) -> None:  # noqa: F811
    apply_grants(site.owner)
    _, as_server = site.login("server")
    seed_reference(site.owner)
    keep = add_customer(site.owner, "Amelia", "Okafor")
    dupe = add_customer(site.owner, "Amelia", "Okafor", phone="+447700900999", email="a@o.org")
    add_interactions(site.owner, dupe, 3, agent_ids=[REF.bob])
    store = CentralStore(as_server, FIELD_KEYRING)
    store.write("ticket.create", ticket(customer_id=str(dupe)), "bob")
    assert DuplicateFinder(as_server, FIELD_KEYRING).scan().candidates == 1
    service = MergeService(store)
    request = service.request(survivor_id=keep, merged_id=dupe, actor="sam")
    service.approve(request.id, actor="pat")
    with read_session(site.owner) as s:
        assert s.get(Customer, dupe).merged_into == keep  # type: ignore[union-attr]
        moved = select(func.count()).where(Interaction.customer_id == keep)
        assert s.scalar(moved) == 3
    # Only the customer column of an interaction may change; its content stays append-only.
    assert "permission denied" in refused(as_server, "UPDATE interaction SET notes = 'x'")
