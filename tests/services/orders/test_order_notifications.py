"""Order status changes reach the customer, in their language, and land on the timeline."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from agentdesk.ids import uuid7
from agentdesk.models import CustomerPhone, Interaction, Notification
from agentdesk.server.scheduler import ManualClock
from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.notifications import NotificationService, SmsSimulator, load_catalog
from agentdesk.services.orders.service import OrderService
from agentdesk.store.engine import read_session
from agentdesk.store.sync.central import CentralStore
from tests.services.orders.conftest import NOW, Shop
from tests.ui_workspace.builders import BASE_TIME, FIELD_KEYRING, _insert

PASSED = IvrData(idv_result="passed", idv_method="pin")


def _mobile(shop: Shop, cid: uuid.UUID) -> None:
    row = {
        "id": uuid7(),
        "customer_id": cid,
        "label": "mobile",
        "number_raw": "07700 900123",
        "e164": "+447700900123",
        "is_primary": True,
        "created_at": BASE_TIME,
    }
    _insert(shop.engine, CustomerPhone, iter([row]))


def _setup(shop: Shop, **customer: Any) -> tuple[CentralStore, NotificationService, uuid.UUID]:
    store = CentralStore(shop.engine, FIELD_KEYRING)
    sms = SmsSimulator()
    notices = NotificationService(
        store,
        load_catalog(),
        mailer=None,
        sms=sms,
        from_address="s@bank.example",
        clock=ManualClock(NOW),
    )
    notices.start_cursor()
    cid = shop.customer(**customer)
    _mobile(shop, cid)
    return store, notices, cid


def _place(shop: Shop, store: CentralStore, service: OrderService, cid: uuid.UUID) -> uuid.UUID:
    args = service.plan(cid, "credit_card", ivr=PASSED)
    store.write("order.place", args.to_json(), "alice")
    return args.ticket.id


def _templates(shop: Shop, ticket_id: uuid.UUID) -> list[str]:
    with read_session(shop.engine) as s:
        return list(
            s.scalars(
                select(Notification.template)
                .where(Notification.ticket_id == ticket_id)
                .order_by(Notification.created_at, Notification.id)
            ).all()
        )


def _status(store: CentralStore, ticket_id: uuid.UUID, status: str) -> None:
    store.write("ticket.update", {"id": str(ticket_id), "changes": {"status": status}}, "bob")


def test_placed_in_fulfilment_fulfilled_each_notify_once(shop: Shop) -> None:
    store, notices, cid = _setup(shop)
    ticket_id = _place(shop, store, shop.service, cid)
    assert notices.intake() == 1
    _status(store, ticket_id, "open")
    _status(store, ticket_id, "resolved")
    _status(store, ticket_id, "closed")  # closing a fulfilled order tells nobody again
    notices.intake()
    # Queued in one intake, so compared as a set; the survey (marketing) goes out as for
    # any resolved request, suppressed for customers who opted out.
    assert sorted(_templates(shop, ticket_id)) == [
        "order_fulfilled",
        "order_in_fulfilment",
        "order_placed",
        "resolved_survey",
    ]


def test_a_rejected_order_says_so(shop: Shop) -> None:
    store, notices, cid = _setup(shop)
    ticket_id = _place(shop, store, shop.service, cid)
    _status(store, ticket_id, "open")
    _status(store, ticket_id, "closed")
    notices.intake()
    assert sorted(_templates(shop, ticket_id)) == [
        "order_in_fulfilment",
        "order_placed",
        "order_rejected",
    ]


def test_the_message_is_sent_in_german_and_lands_on_the_timeline(shop: Shop) -> None:
    store, notices, cid = _setup(shop, preferred_language="de")
    ticket_id = _place(shop, store, shop.service, cid)
    notices.intake()
    assert notices.dispatch() == 1
    with read_session(shop.engine) as s:
        contact = s.scalars(select(Interaction).where(Interaction.customer_id == cid)).one()
        number = s.scalar(select(Notification.params).where(Notification.ticket_id == ticket_id))
    assert number is not None
    assert contact.notes is not None
    assert contact.notes.startswith("Vielen Dank für Ihre Bestellung (Classic credit card)")
    assert "T-" in contact.notes
