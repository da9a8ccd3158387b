"""The AMI actions the desktop sends, and the quick new-customer service behind the pop."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from agentdesk.models import CustomerPhone
from agentdesk.services.crm.quick_customer import (
    QuickCustomer,
    QuickCustomerError,
    QuickCustomerService,
)
from agentdesk.services.desk import pbx_actions as actions
from agentdesk.store.engine import read_session
from agentdesk.store.writer import LocalWriter

PLAN = actions.DialPlan()


def test_answer_and_hold_are_pjsip_notify_to_the_endpoint() -> None:
    assert actions.answer("PJSIP/1001").as_dict() == {"Endpoint": "1001", "Variable": "Event=talk"}
    assert actions.hold("PJSIP/1001", True).as_dict()["Variable"] == "Event=hold"
    assert actions.hold("PJSIP/1001", False).as_dict()["Variable"] == "Event=talk"


def test_transfer_dial_and_queue_actions() -> None:
    blind = actions.blind_transfer("PJSIP/1001-0000000a", "21 00", PLAN)
    assert blind.name == "BlindTransfer" and blind.as_dict()["Exten"] == "2100"
    assert actions.attended_transfer("PJSIP/1001-0000000a", "2200", PLAN).name == "Atxfer"
    dial = actions.originate("PJSIP/1001", "+44 (20) 7946-0000", '"Alice" <1001>', PLAN).as_dict()
    assert dial["Exten"] == "+442079460000" and dial["Channel"] == "PJSIP/1001"
    assert dial["Async"] == "true"
    pause = actions.pause("PJSIP/1001", True, "Lunch").as_dict()
    assert pause == {"Interface": "PJSIP/1001", "Paused": "true", "Reason": "Lunch"}
    assert "Reason" not in actions.pause("PJSIP/1001", False, "Lunch").as_dict()
    assert actions.queue_add("general", "PJSIP/1001", "Alice").as_dict()["Paused"] == "false"


@pytest.mark.parametrize("bad", ["", "abc", "1\r\nAction: Originate", "+" + "9" * 40, "12;34"])
def test_undialable_input_is_refused_before_it_reaches_the_pbx(bad: str) -> None:
    with pytest.raises(actions.ActionInputError):
        actions.originate("PJSIP/1001", bad, "x", PLAN)


def test_quick_customer_keeps_the_number_and_refuses_bad_input(
    sqlite_central_engine: Engine,
) -> None:
    service = QuickCustomerService(LocalWriter(sqlite_central_engine, "alice"))
    customer_id = service.create(QuickCustomer("Kofi", "Mensah", "07700 900778"))
    with read_session(sqlite_central_engine) as s:
        phone = s.scalars(
            select(CustomerPhone).where(CustomerPhone.customer_id == customer_id)
        ).one()
    assert phone.e164 == "+447700900778" and phone.number_raw == "07700 900778"
    for new, field in (
        (QuickCustomer(" ", "", "07700 900779"), "family_name"),
        (QuickCustomer("A", "B", "not a number"), "number"),
        (QuickCustomer("x" * 201, "B", ""), "family_name"),
    ):
        with pytest.raises(QuickCustomerError) as info:
            service.create(new)
        assert info.value.field == field
