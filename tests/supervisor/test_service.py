"""SupervisorService: roles enforced on every use case, PBX actions and acknowledgements audited."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from agentdesk.models import Role
from agentdesk.services.platform.roles import PermissionDenied
from agentdesk.services.supervisor import SupervisorInputError, SupervisorService
from agentdesk.services.supervisor.alerts import AlertKind, AlertThresholds
from agentdesk.services.supervisor.reports import Interval
from agentdesk.services.supervisor.settings import SupervisorSettings
from agentdesk.store.writer import LocalWriter
from agentdesk.telephony.client import AmiClient
from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.events import decode
from tests.supervisor.conftest import FakeSession, audit_entries
from tests.supervisor.simfloor import SimFloor, settings

T = TypeVar("T")
IFACE = "PJSIP/agent-3001"
JOIN = decode(
    AmiMessage.build(("Event", "QueueCallerJoin"), ("Uniqueid", "1.1"), ("Queue", "general"))
)


def with_pbx(floor: SimFloor, body: Callable[[AmiClient], Awaitable[T]]) -> T:
    """Run ``body(client)`` with the simulator's AMI server up and a client logged in."""

    async def main() -> T:
        await floor.sim.start()
        client = AmiClient("127.0.0.1", floor.sim.port, "desk", "s3cret")
        try:
            await client.connect(timeout=5)
            return await body(client)
        finally:
            await client.close()
            await floor.sim.stop()

    return asyncio.run(asyncio.wait_for(main(), 20))


def make_service(session: Any, writer: LocalWriter, **kwargs: Any) -> SupervisorService:
    return SupervisorService(session, kwargs.pop("settings", settings()), audit=writer, **kwargs)


def test_an_agent_session_cannot_open_the_supervisor_service(
    agent: FakeSession, audit: LocalWriter
) -> None:
    with pytest.raises(PermissionDenied, match=r"'alice.agent' is signed in as agent"):
        make_service(agent, audit)


def test_every_use_case_refuses_once_the_role_is_taken_away(
    supervisor: FakeSession, audit: LocalWriter
) -> None:
    svc = make_service(supervisor, audit)
    svc.snapshot()
    supervisor.role = Role.AGENT
    calls: list[Callable[[], object]] = [
        svc.snapshot, svc.tick, lambda: svc.handle(JOIN), lambda: svc.resync([], []),
        svc.pop_latency, svc.check_tickets,
        lambda: svc.history(dt.date(2026, 1, 1), Interval.MIN30),
        lambda: svc.today_series(Interval.MIN30),
        lambda: asyncio.run(svc.pause(IFACE, "Coaching")),
        lambda: asyncio.run(svc.unpause(IFACE)),
        lambda: asyncio.run(svc.add_to_queue(IFACE, "general", "Agent 3001")),
        lambda: asyncio.run(svc.remove_from_queue(IFACE, "general")),
        lambda: asyncio.run(svc.acknowledge("A1")),
    ]  # fmt: skip
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert audit_entries(audit) == []


def test_pause_and_unpause_reach_the_pbx_and_the_audit_log(
    supervisor: FakeSession, audit: LocalWriter
) -> None:
    floor = SimFloor(agents=1)
    svc = make_service(supervisor, audit, workstation="sup-ws-7")

    async def body(client: AmiClient) -> Any:
        svc.set_pbx(client)
        paused = await svc.pause(IFACE, "Coaching", "general")
        member = floor.sim.acd.queues["general"].members[IFACE]
        state = (member.paused, member.paused_reason)
        resumed = await svc.unpause(IFACE)
        return paused, state, resumed, member.paused

    paused, state, resumed, still_paused = with_pbx(floor, body)
    assert paused.ok and resumed.ok
    assert state == (True, "Coaching")
    assert still_paused is False
    entries = audit_entries(audit)
    assert [e.action for e in entries] == ["supervisor.pause", "supervisor.unpause"]
    first = entries[0]
    assert (first.actor, first.entity_type, first.entity_id) == ("sam.supervisor", "agent", IFACE)
    assert (first.reason, first.workstation) == ("Coaching", "sup-ws-7")
    assert first.details["ok"] is True and first.details["queue"] == "general"


def test_queue_remove_and_add_are_audited_and_a_refusal_too(
    supervisor: FakeSession, audit: LocalWriter
) -> None:
    floor = SimFloor(agents=1)
    svc = make_service(supervisor, audit)

    async def body(client: AmiClient) -> Any:
        svc.set_pbx(client)
        removed = await svc.remove_from_queue(IFACE, "general")
        await asyncio.sleep(0.05)  # the simulator applies it in its next step
        gone = IFACE not in floor.sim.acd.queues["general"].members
        again = await svc.remove_from_queue(IFACE, "general")
        added = await svc.add_to_queue(IFACE, "general", "Agent 3001", paused=True)
        await asyncio.sleep(0.05)
        return removed, gone, again, added

    removed, gone, again, added = with_pbx(floor, body)
    assert removed.ok and gone and added.ok
    assert not again.ok and "Not there" in again.message
    entries = audit_entries(audit)
    assert [e.action for e in entries] == [
        "supervisor.queue_remove", "supervisor.queue_remove", "supervisor.queue_add",
    ]  # fmt: skip
    assert entries[1].details["ok"] is False
    assert floor.sim.acd.queues["general"].members[IFACE].paused


def test_an_action_without_a_pbx_link_fails_and_is_still_audited(
    supervisor: FakeSession, audit: LocalWriter
) -> None:
    svc = make_service(supervisor, audit)
    outcome = asyncio.run(svc.pause(IFACE, "Break"))
    assert not outcome.ok and outcome.message == "no PBX link"
    assert [e.details["ok"] for e in audit_entries(audit)] == [False]


@pytest.mark.parametrize(
    ("interface", "reason", "match"),
    [
        ("", "Break", "interface is required"),
        (IFACE, "", "reason is required"),
        (IFACE, "Break\r\nAction: Originate", "line breaks"),
        (IFACE, "x" * 201, "limit is 200"),
        ("PJSIP/\x00", "Break", "NUL"),
    ],
)
def test_bad_action_input_is_refused_before_anything_is_sent(
    supervisor: FakeSession, audit: LocalWriter, interface: str, reason: str, match: str
) -> None:
    svc = make_service(supervisor, audit)
    with pytest.raises(SupervisorInputError, match=match):
        asyncio.run(svc.pause(interface, reason))
    assert audit_entries(audit) == []


def test_alert_is_raised_acknowledged_with_who_and_when_and_cleared(
    supervisor: FakeSession, audit: LocalWriter
) -> None:
    clock = [1_700_000_000.0]
    base = settings()
    strict = SupervisorSettings(base.metrics, AlertThresholds(waiting_above=1), 60)
    svc = make_service(supervisor, audit, settings=strict, clock=lambda: clock[0])
    for uid in ("1.1", "1.2"):
        join = (("Event", "QueueCallerJoin"), ("Uniqueid", uid), ("Queue", "general"))
        svc.handle(decode(AmiMessage.build(*join, ("CallerIDNum", "+447700900001"))))
    snap, changes = svc.snapshot()
    assert [a.kind for a in changes.raised] == [AlertKind.WAITING]
    alert = snap.alerts[0]
    assert "2 callers waiting" in alert.message and not alert.acknowledged
    clock[0] += 5
    done = asyncio.run(svc.acknowledge(alert.id))
    assert (done.acknowledged_by, done.acknowledged_at) == ("sam.supervisor", clock[0])
    snap, changes = svc.snapshot()
    assert snap.alerts[0].acknowledged and not changes.raised
    entry = audit_entries(audit)[0]
    assert (entry.action, entry.actor, entry.entity_id) == (
        "alert.acknowledge", "sam.supervisor", "general",
    )  # fmt: skip
    # The entry's time is the writer's clock (the server's, once it lands), never a time the
    # client asks for: the service's clock only stamps the acknowledgement itself.
    assert entry.at.timestamp() == pytest.approx(time.time(), abs=120)
    svc.handle(decode(AmiMessage.build(("Event", "QueueCallerAbandon"), ("Uniqueid", "1.1"),
                                       ("Queue", "general"), ("HoldTime", "30"))))  # fmt: skip
    snap, changes = svc.snapshot()
    assert [a.id for a in changes.cleared] == [alert.id] and snap.alerts == ()
