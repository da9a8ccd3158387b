"""panoramisk 1.4, an independent third-party AMI client, against our simulator's server.

Never import ``panoramisk.testing``: it switches the library's global line ending to LF.
"""

from __future__ import annotations

import asyncio
from typing import Any

from panoramisk import Manager

from tests.telephony.amihelpers import arun, make_sim


def test_panoramisk_logs_in_lists_pauses_and_receives_call_events() -> None:
    async def scenario() -> None:
        sim = make_sim(time_scale=30)  # the IVR takes about a simulated minute
        sim.add_agent("PJSIP/agent-1001", "Alice", {"general": 0})
        await sim.start()
        logged_in = asyncio.Event()
        seen: dict[str, Any] = {}
        connected = asyncio.Event()
        manager = Manager(
            host="127.0.0.1",
            port=sim.port,
            username="desk",
            secret="s3cret",
            ping_delay=60,
            on_login=lambda m: logged_in.set(),
        )

        @manager.register_event("Agent*")
        def on_agent(mgr: Manager, message: Any) -> None:
            seen.setdefault(message.Event, message)
            if message.Event == "AgentConnect":
                connected.set()

        await manager.connect()
        await asyncio.wait_for(logged_in.wait(), 5)
        assert manager.protocol.version == "9.0.0"

        status = await asyncio.wait_for(manager.send_action({"Action": "QueueStatus"}), 5)
        assert [m.Event for m in status[1:]] == [
            "QueueParams",
            "QueueMember",
            "QueueStatusComplete",
        ]
        member = status[2]
        assert (member.Name, member.Location, member.Paused) == ("Alice", "PJSIP/agent-1001", "0")
        assert status[1].ServicelevelPerf == "0.0"

        summary = await asyncio.wait_for(manager.send_action({"Action": "QueueSummary"}), 5)
        assert summary[1].Event == "QueueSummary" and summary[1].Available == "1"

        paused = await asyncio.wait_for(
            manager.send_action(
                {
                    "Action": "QueuePause",
                    "Interface": "PJSIP/agent-1001",
                    "Paused": "true",
                    "Reason": "Lunch",
                }
            ),
            5,
        )
        assert paused.success and paused.Message == "Interface paused successfully"
        unpaused = await asyncio.wait_for(
            manager.send_action(
                {"Action": "QueuePause", "Interface": "PJSIP/agent-1001", "Paused": "false"}
            ),
            5,
        )
        assert unpaused.Message == "Interface unpaused successfully"

        unknown = await asyncio.wait_for(manager.send_action({"Action": "Nope"}), 5)
        assert not unknown.success

        placed = sim.place_call(
            "+447700900777", intent="balance", idv="passed", agent="PJSIP/agent-1001"
        )
        while "AgentCalled" not in seen:
            await asyncio.sleep(0.02)
        answer = await asyncio.wait_for(
            manager.send_action(
                {"Action": "PJSIPNotify", "Endpoint": "agent-1001", "Variable": "Event=talk"}
            ),
            5,
        )
        assert answer.Message == "NOTIFY sent"
        await asyncio.wait_for(connected.wait(), 5)
        called = seen["AgentCalled"]
        assert called.Linkedid == placed.linkedid and called.Interface == "PJSIP/agent-1001"
        chanvars = called.getdict("ChanVariable")
        assert chanvars["IVR_INTENT"] == "balance" and chanvars["IDV_RESULT"] == "passed"
        manager.close()
        await sim.stop()

    arun(scenario(), timeout=60)
