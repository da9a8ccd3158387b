"""The AMI server speaks manager.c's dialect: banner, login, errors, events, hostile input."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.server import AmiServer
from tests.telephony.amihelpers import USERS, RawAmi, arun


async def _server(**kwargs: object) -> AmiServer:
    kwargs.setdefault("auth_fail_delay", 0.05)
    server = AmiServer(USERS, **kwargs)  # type: ignore[arg-type]
    await server.start()
    return server


def test_banner_login_fullybooted_ping_logoff() -> None:
    async def scenario() -> None:
        server = await _server()
        peer = await RawAmi.connect(server.port)
        assert await peer.banner() == b"Asterisk Call Manager/9.0.0\r\n"
        ok = await peer.login()
        assert ok.headers == (
            ("Response", "Success"),
            ("ActionID", "login"),
            ("Message", "Authentication accepted"),
        )
        booted = await peer.read()
        assert booted.keys() == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
        assert booted["Privilege"] == "system,all" and booted["Status"] == "Fully Booted"
        peer.send(("Action", "Ping"), ("ActionID", "p"))
        pong = await peer.read()
        assert pong.keys() == ["Response", "ActionID", "Ping", "Timestamp"]
        peer.send(("Action", "Login"), ("Username", "desk"), ("Secret", "s3cret"))
        assert (await peer.read())["Message"] == "Already authenticated"
        peer.send(("Action", "Logoff"))
        bye = await peer.read()
        assert bye.headers == (("Response", "Goodbye"), ("Message", "Thanks for all the fish."))
        assert await peer.closed()
        await server.stop()

    arun(scenario())


def test_md5_challenge_login() -> None:
    async def scenario() -> None:
        server = await _server()
        peer = await RawAmi.connect(server.port)
        await peer.banner()
        peer.send(("Action", "Challenge"), ("AuthType", "md5"), ("ActionID", "c"))
        challenge = (await peer.read())["Challenge"]
        key = hashlib.md5((challenge + "s3cret").encode()).hexdigest()
        peer.send(("Action", "Login"), ("AuthType", "MD5"), ("Username", "desk"), ("Key", key))
        assert (await peer.read())["Message"] == "Authentication accepted"
        await server.stop()

    arun(scenario())


@pytest.mark.parametrize("secret", ["wrong", ""])
def test_failed_login_gets_error_then_close(secret: str, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        server = await _server()
        peer = await RawAmi.connect(server.port)
        await peer.banner()
        reply = await peer.login(secret=secret)
        assert reply.headers == (
            ("Response", "Error"),
            ("ActionID", "login"),
            ("Message", "Authentication failed"),
        )
        assert await peer.closed()
        await server.stop()

    with caplog.at_level(logging.WARNING):
        arun(scenario())
    assert "AMI login failed for 'desk'" in caplog.text


def test_unauthenticated_unknown_missing_action_and_write_permission() -> None:
    async def scenario() -> None:
        server = await _server()
        peer = await RawAmi.connect(server.port)
        await peer.banner()
        peer.send(("Action", "QueueStatus"), ("ActionID", "1"))
        assert (await peer.read()).headers == (
            ("Response", "Error"),
            ("ActionID", "1"),
            ("Message", "Permission denied"),
        )
        await peer.login("board", "b0ard")
        peer.send(("Action", "Frobnicate"), ("ActionID", "2"))
        assert (await peer.read())["Message"] == (
            "Invalid/unknown command: Frobnicate. Use Action: ListCommands to show available "
            "commands."
        )
        peer.send(("ActionID", "3"), ("Foo", "bar"))
        assert (await peer.read())["Message"] == "Missing action in request"
        peer.send(("Action", "UserEvent"), ("UserEvent", "X"), ("ActionID", "4"))
        assert (await peer.read())["Message"] == "Permission denied"  # board may not write user
        await server.stop()

    arun(scenario())


def test_events_reach_only_sessions_allowed_to_read_them() -> None:
    async def scenario() -> None:
        server = await _server()
        desk, board = await RawAmi.connect(server.port), await RawAmi.connect(server.port)
        await desk.login()
        await desk.read()  # FullyBooted
        await board.login("board", "b0ard")  # read=agent only: no FullyBooted
        server.publish(AmiMessage.build(("Event", "Newchannel"), ("Privilege", "call,all")), "call")
        server.publish(
            AmiMessage.build(("Event", "AgentCalled"), ("Privilege", "agent,all")), "agent"
        )
        assert (await desk.read()).event == "Newchannel"
        assert (await desk.read()).event == "AgentCalled"
        assert (await board.read()).event == "AgentCalled"
        desk.send(("Action", "Events"), ("EventMask", "off"), ("ActionID", "e"))
        assert (await desk.read()).headers == (
            ("Response", "Success"),
            ("ActionID", "e"),
            ("Events", "Off"),
        )
        server.publish(AmiMessage.build(("Event", "Newchannel"), ("Privilege", "call,all")), "call")
        desk.send(("Action", "Ping"), ("ActionID", "after"))
        assert (await desk.read()).action_id == "after"  # the event was not delivered
        await server.stop()

    arun(scenario())


def test_line_too_long_is_answered_at_the_end_of_its_message_with_the_action_id() -> None:
    """manager.c do_message → handle_parse_error: the headers read before and after the
    long line stay, and the error goes out at the blank line with the ActionID."""

    async def scenario() -> None:
        server = await _server(max_line=1024)
        peer = await RawAmi.connect(server.port)
        await peer.banner()
        peer.writer.write(b"Action: Ping\r\nActionID: long-1\r\nX: " + b"a" * 5000 + b"\r\n")
        await asyncio.sleep(0.05)
        peer.writer.write(b"Y: after\r\n\r\n")
        error = await peer.read()
        assert error.headers == (
            ("Response", "Error"),
            ("ActionID", "long-1"),
            ("Message", "Failed to parse message: line too long"),
        )
        peer.writer.write(b"Action: Ping\r\nActionID: next\r\n\r\n")
        assert (await peer.read()).action_id == "next"  # the session goes on
        await server.stop()

    arun(scenario())


def test_framing_errors_never_close_the_session_and_stay_bounded() -> None:
    """Asterisk does not hang up on framing errors: 20 bad messages, a 10 MB line,
    invalid UTF-8 and a CR inside a value, and the session still answers."""

    async def scenario() -> None:
        server = await _server(max_line=1024)
        peer = await RawAmi.connect(server.port)
        await peer.banner()
        for n in range(20):
            peer.writer.write(f"Action: Ping\r\nActionID: bad-{n}\r\nX: ".encode())
            peer.writer.write(b"b" * 3000 + b"\r\n\r\n")
            error = await peer.read()
            assert (error.action_id, error["Response"]) == (f"bad-{n}", "Error")
        peer.writer.write(b"Action: Ping\r\nActionID: huge\r\nX: ")
        chunk = b"c" * (1 << 20)
        for _ in range(10):  # 10 MB in one line, never buffered
            peer.writer.write(chunk)
            await peer.writer.drain()
        peer.writer.write(b"\r\n\r\n")
        assert (await peer.read(timeout=10)).action_id == "huge"
        peer.writer.write(b"Action: Ping\r\nActionID: u\xff\xfe\r\nV: a\rb\r\n\r\n")
        odd = await peer.read()
        assert odd["Response"] == "Error" and odd.action_id == "u\ufffd\ufffd"  # not logged in
        peer.writer.write(b"Action: Ping\r\nActionID: ok\r\n\r\n")
        assert (await peer.read()).action_id == "ok"
        assert server.sessions and not next(iter(server.sessions)).closed
        await server.stop()

    arun(scenario())


def test_auth_timeout_closes_idle_unauthenticated_session() -> None:
    async def scenario() -> None:
        server = await _server(authtimeout=0.2)
        peer = await RawAmi.connect(server.port)
        await peer.banner()
        assert await peer.closed(timeout=3)
        await server.stop()

    arun(scenario())


def test_slow_reader_is_dropped_and_server_keeps_serving(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        server = await _server(max_write_buffer=64 * 1024)
        lazy = await RawAmi.connect(server.port)
        await lazy.login()
        lazy.writer.transport.pause_reading()  # type: ignore[attr-defined]
        big = AmiMessage.build(("Event", "Noise"), ("Privilege", "call,all"), ("X", "y" * 900))
        for _ in range(5000):
            server.publish(big, "call")
            if not server.sessions:
                break
            await asyncio.sleep(0)
        assert not any(s.authenticated for s in server.sessions)
        fresh = await RawAmi.connect(server.port)
        assert (await fresh.login())["Response"] == "Success"
        await server.stop()

    with caplog.at_level(logging.WARNING):
        arun(scenario())
    assert "not reading its events" in caplog.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=2048),
            st.sampled_from(
                [
                    b"Action: Ping\r\n\r\n",
                    b"\r\n\r\n",
                    b"Action:\n\n",
                    b"Action: Login\nUsername: desk\nSecret: s3cret\n\n",
                    b"\xff\xfe\x00" * 50,
                    b"Action: QueueStatus\r\n\r\n",
                ]
            ),
        ),
        max_size=12,
    )
)
def test_fuzz_server_survives_random_and_hostile_input(chunks: list[bytes]) -> None:
    async def scenario() -> None:
        server = await _server(max_line=256, max_buffer=4096)
        peer = await RawAmi.connect(server.port)
        for chunk in chunks:
            peer.writer.write(chunk)
        peer.writer.write_eof()
        assert await peer.closed(timeout=5)  # the server answers then closes; it never hangs
        check = await RawAmi.connect(server.port)  # and still serves others
        await check.banner()
        assert (await check.login())["Response"] == "Success"
        await server.stop()

    arun(scenario(), timeout=20)
