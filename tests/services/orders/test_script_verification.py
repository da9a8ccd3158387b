"""The agent's ID&V recorded in the call's script is the order's verification: a caller
verified there may order (the script's method kept on the order, accepted by the server);
a caller who failed it may not, and picking another method in the dialog does not help."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from agentdesk.models import Ticket
from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.orders.catalogue import load_catalogue
from agentdesk.services.orders.gate import check_order
from agentdesk.services.orders.service import OrderRefused, OrderService
from agentdesk.services.orders.verification import verification_for
from agentdesk.services.scripts.engine import IdvCheck
from agentdesk.services.tickets.plan import TicketPlanner
from agentdesk.services.tickets.routing import load_rules
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store.engine import read_session
from agentdesk.store.writer import LocalWriter
from tests.services.orders.conftest import NOW, Shop
from tests.services.orders.test_orders import _pushed_args

NOT_ATTEMPTED = IvrData(idv_result="not_attempted")
SCRIPT_PASSED = IdvCheck("passed", "date_of_birth_postcode")
SCRIPT_FAILED = IdvCheck("failed", "one_time_code")


def test_a_caller_verified_in_the_script_orders_with_the_scripts_method(shop: Shop) -> None:
    cid = shop.customer()
    order = shop.service.place(cid, "easy_saver", ivr=NOT_ATTEMPTED, script=SCRIPT_PASSED)
    assert order.verification == "Verified by the agent: date of birth and postcode"
    args = _pushed_args(shop)
    assert (args["verified_by"], args["verification_method"]) == (
        "agent",
        "date_of_birth_postcode",
    )
    ticket = args["ticket"]
    assert isinstance(ticket, dict)
    assert "Verified by the agent in the script" in ticket["description"]
    with read_session(shop.engine) as s:  # the server takes the script's method
        check_order(s, args, catalogue=load_catalogue(), cipher=None, today=NOW.date())


@pytest.mark.parametrize("method", [None, "security_questions"])
def test_a_caller_who_failed_the_scripts_check_cannot_order(shop: Shop, method: str | None) -> None:
    cid = shop.customer()
    with pytest.raises(OrderRefused) as refused:
        shop.service.place(
            cid, "easy_saver", ivr=NOT_ATTEMPTED, agent_method=method, script=SCRIPT_FAILED
        )
    assert str(refused.value) == (
        "the caller failed the identity check in the script (One-time code by SMS): "
        "no order can be placed on this call"
    )
    with read_session(shop.engine) as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0


def test_the_ivr_decides_before_the_script() -> None:
    passed = IvrData(idv_result="passed", idv_method="pin")
    assert verification_for(passed, None, SCRIPT_FAILED).describe() == "Verified by the IVR (PIN)"
    with pytest.raises(PermissionError, match="ID&V failed in the IVR"):
        verification_for(IvrData(idv_result="failed"), None, SCRIPT_PASSED)


def test_the_order_service_reads_the_check_recorded_on_the_calls_script(
    engine: Engine, shop: Shop
) -> None:
    policy = load_policy()
    service = OrderService(
        engine,
        LocalWriter(engine, actor="alice"),
        TicketPlanner(engine, policy, load_rules(reasons=policy.reasons)),
        load_catalogue(),
        shop.agent_id,
        call_checks={"1733650000.1": SCRIPT_PASSED}.get,
    )
    assert service.call_check("1733650000.1") == SCRIPT_PASSED
    assert service.call_check("1733650000.2") is None
    assert service.call_check(None) is None
