"""Shared helpers for the telephony tests: a small config, an event recorder, raw AMI I/O."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

from agentdesk.telephony.codec import AmiMessage, AmiParser, encode
from agentdesk.telephony.server import AmiUser
from agentdesk.telephony.sim.config import (
    AgentBehaviour,
    AgentGroup,
    AgentsConfig,
    PbxConfig,
    QueueConfig,
    TrafficConfig,
    resource_dir,
)
from agentdesk.telephony.sim.ivr_flow import load_flows
from agentdesk.telephony.sim.simulator import PbxSimulator
from agentdesk.telephony.sim.traffic import Duration, RateProfile

T = TypeVar("T")
EPOCH = 1_700_000_000.0
CHANVARS = ("IVR_SESSION", "IVR_INTENT", "IVR_LANGUAGE", "IDV_RESULT", "IDV_METHOD", "IDV_ATTEMPTS")
USERS = (
    AmiUser("desk", "s3cret", frozenset({"all"}), frozenset({"all"})),
    AmiUser("board", "b0ard", frozenset({"agent"}), frozenset({"reporting"})),
)
FLOWS = load_flows(resource_dir() / "ivr")


def arun(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Run a coroutine on a fresh loop with a hard timeout (no pytest-asyncio here).

    Raw test connections still open at the end are closed on the same loop.
    """

    async def main() -> T:
        try:
            return await asyncio.wait_for(coro, timeout)
        finally:
            for peer in RawAmi.live:
                peer.writer.close()
            RawAmi.live.clear()
            await asyncio.sleep(0)

    return asyncio.run(main())


def quiet_behaviour(**changes: Any) -> AgentBehaviour:
    """Virtual agents that always answer after 2 s, never hold, transfer or take breaks."""
    base = dict(
        ring_delay=Duration(2.0, 0, "fixed"),
        p_no_answer=0.0,
        p_hold=0.0,
        p_blind_transfer=0.0,
        p_attended_transfer=0.0,
        breaks_per_hour=0.0,
    )
    base.update(changes)
    return AgentBehaviour(**base)


def make_config(
    *,
    queues: dict[str, QueueConfig] | None = None,
    agents: int = 0,
    behaviour: AgentBehaviour | None = None,
    traffic: TrafficConfig | None = None,
    **changes: Any,
) -> PbxConfig:
    queues = queues or {
        "general": QueueConfig(
            "general",
            strategy="rrmemory",
            timeout=15,
            retry=5,
            wrapuptime=0,
            autopause="yes",
            servicelevel=20,
        )
    }
    config = PbxConfig(
        users=USERS,
        channelvars=CHANVARS,
        queues=queues,
        agents=AgentsConfig(
            agents, 3001, (AgentGroup(1.0, {q: 0 for q in queues}),), behaviour or quiet_behaviour()
        ),
        traffic=traffic
        or TrafficConfig(
            profile=RateProfile((0.0,)), flow="retail", handle=Duration(60.0, 0, "fixed")
        ),
        transfer_targets={"2000": "external"},
    )
    return config.with_(**changes) if changes else config


def make_sim(config: PbxConfig | None = None, **kwargs: Any) -> PbxSimulator:
    kwargs.setdefault("seed", 1)
    kwargs.setdefault("epoch", EPOCH)
    kwargs.setdefault("traffic", False)
    kwargs.setdefault("auth_fail_delay", 0.05)
    return PbxSimulator(config or make_config(), flows=FLOWS, **kwargs)


class Recorder:
    """Collects every event the simulator emits, with its class."""

    def __init__(self) -> None:
        self.events: list[AmiMessage] = []

    def __call__(self, message: AmiMessage, klass: str) -> None:
        self.events.append(message)

    def names(self) -> list[str]:
        return [m.event or "" for m in self.events]

    def of(self, name: str) -> list[AmiMessage]:
        return [m for m in self.events if m.event == name]

    def index(self, name: str, **where: str) -> int:
        for i, m in enumerate(self.events):
            if m.event == name and all(m.get(k) == v for k, v in where.items()):
                return i
        raise AssertionError(f"no {name} {where} in {self.names()}")


class RawAmi:
    """A bare TCP AMI peer for protocol tests: write bytes, read parsed messages."""

    live: ClassVar[list[RawAmi]] = []

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        RawAmi.live.append(self)
        self.parser = AmiParser(expect_banner=True, max_line=1 << 20)
        self.pending: list[AmiMessage] = []

    @classmethod
    async def connect(cls, port: int) -> RawAmi:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def banner(self, timeout: float = 5.0) -> bytes:
        return await asyncio.wait_for(self.reader.readline(), timeout)

    def send(self, *pairs: tuple[str, str]) -> None:
        self.writer.write(encode(AmiMessage.build(*pairs)))

    async def read(self, timeout: float = 5.0) -> AmiMessage:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise ConnectionResetError("peer closed")
            self.pending.extend(self.parser.feed(data))
        return self.pending.pop(0)

    async def read_until(self, predicate: Any, timeout: float = 5.0) -> AmiMessage:
        async with asyncio.timeout(timeout):
            while True:
                message = await self.read(timeout)
                if predicate(message):
                    return message

    async def login(self, user: str = "desk", secret: str = "s3cret") -> AmiMessage:
        self.send(
            ("Action", "Login"), ("ActionID", "login"), ("Username", user), ("Secret", secret)
        )
        return await self.read_until(lambda m: m.action_id == "login")

    async def closed(self, timeout: float = 5.0) -> bool:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    if not await self.reader.read(65536):
                        return True
                except ConnectionResetError:
                    return True

    def close(self) -> None:
        self.writer.close()
