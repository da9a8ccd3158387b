"""The server's authoriser decides a pushed order again, with the date of birth."""

from __future__ import annotations

import datetime as dt

import pytest

from agentdesk.ids import uuid7
from agentdesk.models import Role, utcnow
from agentdesk.server.auth import Principal
from agentdesk.server.authz import MutationAuthorizer
from agentdesk.services.desk.call_data import IvrData
from agentdesk.store.engine import write_session
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.sync.protocol import PushEntry
from tests.services.orders.conftest import Shop
from tests.ui_workspace.builders import FIELD_KEYRING

PASSED = IvrData(idv_result="passed", idv_method="pin")


def _authorizer(shop: Shop) -> MutationAuthorizer:
    principal = Principal(
        session_id=uuid7(),
        agent_id=shop.agent_id,
        login="alice",
        role=Role.AGENT,
        team_ids=frozenset({shop.teams["Cards"]}),
        workstation=None,
        full_replica=True,
    )
    return MutationAuthorizer(principal, uuid7(), postgres=False, field_cipher=FIELD_KEYRING)


def _entry(args: dict[str, object]) -> PushEntry:
    return PushEntry(client_seq=1, mutation_id=uuid7(), name="order.place", args=args)


def test_a_pushed_order_for_a_customer_too_young_is_refused(shop: Shop) -> None:
    today = utcnow().date()
    # 21 tomorrow: the desktop (birth year only) lets the Platinum card through provisionally.
    day = 28 if (today.month, today.day) == (2, 29) else today.day
    born = dt.date(today.year - 21, today.month, day) + dt.timedelta(days=1)
    cid = shop.customer(segment="premier", date_of_birth=born)
    args = shop.service.plan(cid, "platinum_card", ivr=PASSED).to_json()
    with write_session(shop.engine) as s, pytest.raises(MutationRejected, match="under 21"):
        _authorizer(shop)(s, _entry(args))


def test_a_pushed_order_that_holds_is_authorised(shop: Shop) -> None:
    cid = shop.customer()
    args = shop.service.plan(cid, "credit_card", ivr=PASSED).to_json()
    with write_session(shop.engine) as s:
        _authorizer(shop)(s, _entry(args))  # no refusal
        forged = {**args, "verification_method": "trust_me", "verified_by": "agent"}
        with pytest.raises(MutationRejected, match="unknown verification method"):
            _authorizer(shop)(s, _entry(forged))
