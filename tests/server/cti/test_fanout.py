"""Need-to-know fan-out over ``/api/v1/cti``: each agent hears of their own calls only.

Real server, real gateway, the bundled PBX simulator on loopback; the
desktops are plain WebSocket clients.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from agentdesk.models import SyncPin
from agentdesk.services.desk.call_data import IVR_VARIABLES
from agentdesk.store.sync.port import DirectCentral
from agentdesk.telephony.event_json import from_json
from agentdesk.telephony.events import AgentCalled
from tests.server.cti.conftest import ALICE, BOB, CALLER, Desk, Lab, is_event, wait_until

QUIET = 1.0  # seconds a socket must stay silent about a call that is not its agent's


def test_each_socket_gets_only_its_own_agents_offers(lab: Lab) -> None:
    alice, bob = lab.desk("alice").open(), lab.desk("bob").open()
    for sock in (alice, bob):
        sock.expect(lambda m: m["type"] == "link" and m["state"] == "connected", what="link")
        sock.expect(lambda m: m["type"] == "resync", what="resync")

    to_alice = lab.sim.call(CALLER, ALICE, intent="card_lost")
    offer = alice.expect(is_event("AgentCalled", to_alice.linkedid), what="alice's offer")
    typed = from_json(offer["event"])
    assert isinstance(typed, AgentCalled) and typed.interface == ALICE
    to_bob = lab.sim.call("+447700900999", BOB)
    bob.expect(is_event("AgentCalled", to_bob.linkedid), what="bob's offer")
    alice.drain(QUIET)
    bob.drain(QUIET)

    assert not alice.events(to_bob.linkedid), "alice heard of bob's call"
    assert not bob.events(to_alice.linkedid), "bob heard of alice's call"
    for sock, own in ((alice, ALICE), (bob, BOB)):
        for event in sock.events():
            if event.get("interface"):
                assert own in (event["interface"], event.get("state_interface")), event
            assert event["kind"] not in ("UserEvent", "Newexten", "DTMFBegin", "DTMFEnd")
            if event["kind"] == "VarSet":
                assert event["variable"].lstrip("_") in IVR_VARIABLES, event
            for block in ("channel", "dest"):
                for name, _value in (event.get(block) or {}).get("variables", []):
                    assert name.lstrip("_") in IVR_VARIABLES
    matches = [m for m in alice.seen if m["type"] == "match"]
    assert {m["linkedid"] for m in matches} == {to_alice.linkedid}


def test_offer_comes_right_after_the_servers_match_and_pins_the_customer(lab: Lab) -> None:
    desk = lab.desk("alice")
    sock = desk.open()
    sock.expect(lambda m: m["type"] == "resync", what="resync")

    placed = lab.sim.call(CALLER, ALICE, intent="card_lost")
    sock.expect(is_event("AgentCalled", placed.linkedid), what="the offer")
    index = next(
        i
        for i, m in enumerate(sock.seen)
        if m["type"] == "event" and m["event"]["kind"] == "AgentCalled"
    )
    before = sock.seen[index - 1]
    assert before["type"] == "match" and before["linkedid"] == placed.linkedid
    assert before["match"]["kind"] == "single"
    assert before["match"]["candidates"][0]["id"] == str(lab.customer_id)
    assert before["match"]["card"]["summary"]["display_name"] == "Ada Lovelace"
    # The IVR's result (set before the call reached the queue) is replayed before the offer.
    ivr = [m["event"] for m in sock.seen[:index] if m["type"] == "event"]
    assert any(e["kind"] == "VarSet" and e["value"] == "card_lost" for e in ivr), ivr

    def pinned() -> bool:
        with lab.central.connect() as conn:
            rows = conn.execute(
                select(SyncPin.customer_id).where(SyncPin.client_id == desk.client_id)
            ).scalars()
            return lab.customer_id in set(rows)

    wait_until(pinned, 5, "the matched customer to be pinned to the desktop")
    card = desk.http.get(
        f"/api/v1/customers/{lab.customer_id}/card", params={"client_id": str(desk.client_id)}
    )
    assert card.status_code == 200, card.text


def test_unknown_caller_gets_a_none_match(lab: Lab) -> None:
    sock = lab.desk("alice").open()
    sock.expect(lambda m: m["type"] == "resync", what="resync")
    placed = lab.sim.call("+447700900555", ALICE)
    match = sock.expect(lambda m: m["type"] == "match", what="match")
    assert match["linkedid"] == placed.linkedid and match["match"]["kind"] == "none"


def test_a_newer_desktop_replaces_the_older_socket(lab: Lab) -> None:
    desk = lab.desk("alice")
    first = desk.open()
    first.expect(lambda m: m["type"] == "resync", what="resync")
    second = desk.open(client_id=uuid.uuid4())
    second.expect(lambda m: m["type"] == "resync", what="resync on the newer socket")
    wait_until(lambda: first.ws.close_code is not None or _recv_closed(first), 10, "close")
    assert first.ws.close_code == 4409


def _recv_closed(sock: object) -> bool:
    from websockets.exceptions import ConnectionClosed

    try:
        sock.ws.recv(0.1)  # type: ignore[attr-defined]
    except TimeoutError:
        return False
    except ConnectionClosed:
        return True
    return False


def test_socket_without_a_session_or_a_line_is_refused(lab: Lab) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    ws_url = lab.url.replace("http://", "ws://") + "/api/v1/cti"
    with connect(ws_url, additional_headers={"Authorization": "Bearer nope"}) as ws:
        with contextlib.suppress(ConnectionClosed):
            ws.recv(10)
        assert ws.close_code == 4401


def test_an_agent_without_a_line_is_refused_with_4403(lab: Lab) -> None:
    from sqlalchemy import update
    from websockets.exceptions import ConnectionClosed

    from agentdesk.models import Agent
    from agentdesk.store.engine import write_session

    with write_session(lab.central) as s:
        s.execute(update(Agent).where(Agent.login == "sue").values(interface=None))
    sue = lab.desk("sue")
    sock = sue.open()
    with contextlib.suppress(ConnectionClosed):
        sock.ws.recv(10)
    assert sock.ws.close_code == 4403
    refused = sue.request({"kind": "pause", "paused": True})
    assert refused.status_code == 403


def _refuse_pins_of(desk_client: uuid.UUID, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make the match's pin write fail for ``desk_client`` (the database restarting) while
    the returned event is set."""
    refusing = threading.Event()
    refusing.set()
    real_pin = DirectCentral.pin

    def pin(
        self: DirectCentral, client_id: uuid.UUID, customers: set[uuid.UUID], *, reset: bool = False
    ) -> None:
        if refusing.is_set() and client_id == desk_client:
            raise OperationalError("INSERT INTO sync_pin", {}, Exception("database is restarting"))
        real_pin(self, client_id, customers, reset=reset)

    monkeypatch.setattr(DirectCentral, "pin", pin)
    return refusing


def _pinned(lab: Lab, client_id: uuid.UUID) -> bool:
    with lab.central.connect() as conn:
        rows = conn.execute(select(SyncPin.customer_id).where(SyncPin.client_id == client_id))
        return lab.customer_id in set(rows.scalars())


def _wrap_up(desk: Desk, customer: uuid.UUID, seq: int = 1, **call: str) -> dict[str, Any]:
    entry = {
        "client_seq": seq,
        "mutation_id": str(uuid.uuid4()),
        "name": "interaction.add",
        "args": {
            "id": str(uuid.uuid4()),
            "customer_id": str(customer),
            "channel": "phone",
            "direction": "inbound",
            "started_at": "2026-12-04T10:00:00+00:00",
            "disposition_code": "resolved",
            **call,
        },
    }
    pushed = desk.http.post(
        "/api/v1/sync/push",
        json={"client_id": str(desk.client_id), "entries": [entry], "give_up": []},
    )
    assert pushed.status_code == 200, pushed.text
    (result,) = pushed.json()["results"]
    return dict(result)


def _offered_while_pins_fail(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> tuple[Desk, Any, threading.Event]:
    """alice's desktop offered Ada's call while the match's pin write fails: promised."""
    desk = lab.desk("alice")
    sock = desk.open()
    sock.expect(lambda m: m["type"] == "resync", what="resync")
    refusing = _refuse_pins_of(desk.client_id, monkeypatch)
    placed = lab.sim.call(CALLER, ALICE)
    sock.expect(is_event("AgentCalled", placed.linkedid), what="the offer")
    wait_until(lambda: lab.ctx.pins.promised(desk.client_id, lab.customer_id), 5, "a promise")
    return desk, placed, refusing


def test_a_match_pin_the_database_refused_is_written_once_it_is_back(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the pin write after a match was tried once: a match made while the database
    restarted left the desktop without its pin (its wrap-up refused as "never opened")."""
    desk, _placed, refusing = _offered_while_pins_fail(lab, monkeypatch)
    card = desk.http.get(
        f"/api/v1/customers/{lab.customer_id}/card", params={"client_id": str(desk.client_id)}
    )
    assert card.status_code == 200, card.text  # promised: the card is this desktop's
    assert not _pinned(lab, desk.client_id)
    refusing.clear()  # the database is back
    wait_until(lambda: _pinned(lab, desk.client_id), 10, "the pin written by a retry")
    wait_until(lambda: not lab.ctx.pins.promised(desk.client_id, lab.customer_id), 5, "settled")


def test_a_wrap_up_filed_before_the_late_pin_is_accepted_and_pins(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk, placed, refusing = _offered_while_pins_fail(lab, monkeypatch)
    result = _wrap_up(desk, lab.customer_id, linkedid=placed.linkedid)  # no caller ID
    assert result["state"] == "applied", result
    assert _pinned(lab, desk.client_id)  # written with the push
    refusing.clear()
    wait_until(lambda: not lab.ctx.pins.promised(desk.client_id, lab.customer_id), 10, "settled")


def test_a_customer_never_handed_to_the_desktop_is_still_refused(lab: Lab) -> None:
    result = _wrap_up(lab.desk("alice"), lab.customer_id)
    assert result["state"] == "rejected" and "never opened" in result["error"]


def test_a_call_wrap_up_whose_pin_was_lost_is_accepted_for_the_callers_customer(
    lab: Lab,
) -> None:
    """The instance that sent the offer was killed before the match's pin landed (the
    2,000-desktop run lost 6 wrap-ups so): the wrap-up of a call from one of the customer's
    numbers pins the customer, as a match on that number would have."""
    desk = lab.desk("alice")
    national = "0" + CALLER.removeprefix("+44")  # the caller ID in another format
    result = _wrap_up(desk, lab.customer_id, linkedid="lab-1.1", caller_id=national)
    assert result["state"] == "applied", result
    assert _pinned(lab, desk.client_id)


def test_a_call_wrap_up_from_someone_elses_number_is_still_refused(lab: Lab) -> None:
    desk = lab.desk("alice")
    result = _wrap_up(desk, lab.customer_id, linkedid="lab-1.2", caller_id="+447700900555")
    assert result["state"] == "rejected" and "never opened" in result["error"]
    result = _wrap_up(desk, lab.customer_id, seq=2, caller_id=CALLER)  # not a call: no linkedid
    assert result["state"] == "rejected" and "never opened" in result["error"]
    assert not _pinned(lab, desk.client_id)
