"""The desktop's AMI client: login, lists, events, keepalive, reconnect + resync, bad secrets."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentdesk.telephony.client import (
    AmiClient,
    AuthenticationError,
    Backoff,
    ConnectionState,
    NotConnectedError,
    ResyncSnapshot,
)
from agentdesk.telephony.codec import AmiMessage, AmiParser, encode, encode_banner
from agentdesk.telephony.loop_thread import LoopThread
from tests.telephony.amihelpers import arun, make_sim

FAST = Backoff(0.01, 0.05)


def _client(port: int, secret: str = "s3cret", **kwargs: object) -> AmiClient:
    kwargs.setdefault("backoff", FAST)
    kwargs.setdefault("rng", random.Random(3))
    return AmiClient("127.0.0.1", port, "desk", secret, **kwargs)  # type: ignore[arg-type]


def test_connect_resync_list_action_and_events() -> None:
    async def scenario() -> None:
        sim = make_sim()
        sim.add_agent("PJSIP/agent-1001", "Alice", {"general": 0})
        await sim.start()
        client = _client(sim.port, auth="md5")
        states: list[ConnectionState] = []
        snapshots: list[ResyncSnapshot] = []
        called: asyncio.Queue[AmiMessage] = asyncio.Queue()
        client.on_state(lambda s, d: states.append(s))
        client.on_resync(snapshots.append)
        client.on_event(called.put_nowait, "agent*")
        await client.connect(timeout=5)
        assert client.banner == "9.0.0"
        assert states == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
        [snap] = snapshots
        assert not snap.reconnect
        members = [m for m in snap.queue_status if m.event == "QueueMember"]
        assert [(m["Name"], m["Location"]) for m in members] == [("Alice", "PJSIP/agent-1001")]
        summary = await client.send_action("QueueSummary", Queue="general")
        assert summary.ok and [i["LoggedIn"] for i in summary.items("QueueSummary")] == ["1"]
        placed = sim.place_call("+447700900001", queue="general", agent="PJSIP/agent-1001")
        event = await asyncio.wait_for(called.get(), 5)
        assert event.event == "AgentCalled" and event["Linkedid"] == placed.linkedid
        bad = await client.send_action("QueuePause", Interface="PJSIP/nobody", Paused="true")
        assert not bad.ok and bad.message == "Interface not found"
        await client.close()
        assert client.state is ConnectionState.CLOSED
        with pytest.raises(NotConnectedError):
            await client.send_action("Ping")
        await sim.stop()

    arun(scenario())


def test_wrong_password_is_reported_once_and_never_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        sim = make_sim()
        await sim.start()
        client = _client(sim.port, secret="nope")
        with pytest.raises(AuthenticationError, match="Authentication failed"):
            await client.connect(timeout=5)
        assert client.state is ConnectionState.FAILED
        assert client._runner is not None and client._runner.done()  # no retry loop left
        await client.close()
        await sim.stop()

    with caplog.at_level(logging.WARNING):
        arun(scenario())
    assert caplog.text.count("AMI login failed for 'desk'") == 1


def _wait_for(predicate: Callable[[], bool]) -> Callable[[], Awaitable[None]]:
    async def waiter() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    return waiter


def test_reconnects_with_backoff_and_resyncs_after_pbx_restart() -> None:
    async def scenario() -> None:
        sim = make_sim()
        sim.add_agent("PJSIP/agent-1001", "Alice", {"general": 0})
        await sim.start()
        port = sim.port
        client = _client(port)
        states: list[ConnectionState] = []
        snapshots: list[ResyncSnapshot] = []
        client.on_state(lambda s, d: states.append(s))
        client.on_resync(snapshots.append)
        await client.connect(timeout=5)
        await sim.stop()
        await asyncio.wait_for(_wait_for(lambda: ConnectionState.RECONNECTING in states)(), 5)
        sim2 = make_sim(port=port)
        sim2.add_agent("PJSIP/agent-2002", "Bob", {"general": 0})
        await sim2.start()
        await asyncio.wait_for(_wait_for(lambda: len(snapshots) == 2)(), 10)
        await client.wait_connected(5)
        assert snapshots[1].reconnect
        names = [m["Name"] for m in snapshots[1].queue_status if m.event == "QueueMember"]
        assert names == ["Bob"]
        assert states[:3] == [
            ConnectionState.CONNECTING,
            ConnectionState.CONNECTED,
            ConnectionState.DISCONNECTED,
        ]
        assert states[-1] is ConnectionState.CONNECTED
        await client.close()
        await sim2.stop()

    arun(scenario())


class FakePbx:
    """A scripted AMI peer: accepts any login; ``on_logged_in`` writes what the test wants."""

    def __init__(self, *, answer_ping: bool = True, after_login: bytes = b"") -> None:
        self.answer_ping, self.after_login = answer_ping, after_login
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        writer.write(encode_banner())
        parser = AmiParser()
        try:
            while data := await reader.read(4096):
                for m in parser.feed(data):
                    self._answer(m, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _answer(self, m: AmiMessage, writer: asyncio.StreamWriter) -> None:
        action, aid = (m.action or "").lower(), m.action_id or ""
        if action == "ping" and not self.answer_ping:
            return
        if action in ("queuestatus", "coreshowchannels"):
            writer.write(
                encode(
                    AmiMessage.build(
                        ("Response", "Success"),
                        ("ActionID", aid),
                        ("EventList", "start"),
                        ("Message", "follows"),
                    )
                )
            )
            writer.write(
                encode(
                    AmiMessage.build(
                        ("Event", "QueueStatusComplete"),
                        ("ActionID", aid),
                        ("EventList", "Complete"),
                        ("ListItems", "0"),
                    )
                )
            )
            if action == "coreshowchannels" and self.after_login:
                writer.write(self.after_login)
                self.after_login = b""  # only the first connection gets the garbage
            return
        writer.write(
            encode(AmiMessage.build(("Response", "Success"), ("ActionID", aid), ("Message", "ok")))
        )


def test_unanswered_ping_drops_the_link_and_reconnects() -> None:
    async def scenario() -> None:
        pbx = FakePbx(answer_ping=False)
        port = await pbx.start()
        client = _client(port, ping_interval=0.1, ping_timeout=0.2)
        await client.connect(timeout=5)
        await asyncio.wait_for(_wait_for(lambda: pbx.connections >= 2)(), 5)
        await client.close()
        await pbx.stop()

    arun(scenario())


def test_async_callback_may_send_actions_without_deadlock() -> None:
    async def scenario() -> None:
        sim = make_sim()
        sim.add_agent("PJSIP/agent-1001", "Alice", {"general": 0})
        await sim.start()
        client = _client(sim.port)
        answered = asyncio.Event()

        async def on_called(message: AmiMessage) -> None:
            result = await client.send_action(
                "PJSIPNotify", Endpoint="agent-1001", Variable="Event=talk"
            )
            assert result.ok and result.message == "NOTIFY sent"

        client.on_event(on_called, "AgentCalled")
        client.on_event(lambda m: answered.set(), "AgentConnect")
        await client.connect(timeout=5)
        sim.place_call("+447700900002", queue="general")
        await asyncio.wait_for(answered.wait(), 5)
        await client.close()
        await sim.stop()

    arun(scenario())


def test_loop_thread_runs_client_and_callbacks_off_the_calling_thread() -> None:
    thread = LoopThread("ami-test")
    loop = thread.start()
    sim = make_sim()
    thread.submit(sim.start()).result(5)
    client = _client(sim.port)
    seen: list[str] = []
    client.on_state(lambda s, d: seen.append(threading.current_thread().name))
    thread.submit(client.connect(timeout=5)).result(10)
    assert thread.submit(client.send_action("Ping")).result(5).ok
    thread.submit(client.close()).result(5)
    thread.submit(sim.stop()).result(5)
    thread.stop()
    assert seen and set(seen) == {"ami-test"}
    assert loop.is_closed()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=3000),
            st.just(b"\r\n\r\n"),
            st.just(b"Event: Hold\r\nChannel: x\r\n\r\n"),
            st.just(b"Response: Success\r\nActionID: zz\r\n\r\n"),
        ),
        max_size=8,
    )
)
def test_fuzz_client_survives_garbage_from_the_pbx(chunks: list[bytes]) -> None:
    async def scenario() -> None:
        pbx = FakePbx(after_login=b"".join(chunks) + b"\r\n\r\n")
        port = await pbx.start()
        client = _client(port, max_line=512)
        events: list[AmiMessage] = []
        client.on_event(events.append)
        await client.connect(timeout=5)
        # The garbage either parsed (and was dispatched or ignored) or broke the framing,
        # in which case the client dropped that link and logged in again.
        await asyncio.wait_for(_wait_for(lambda: client.connected)(), 5)
        for _ in range(3):
            try:
                result = await client.send_action("Ping")
                break
            except NotConnectedError:
                await client.wait_connected(5)
        assert result.ok
        await client.close()
        await pbx.stop()

    arun(scenario(), timeout=20)
