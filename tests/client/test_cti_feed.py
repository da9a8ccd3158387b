"""ServerCallFeed against a scripted ``/api/v1/cti`` on loopback: decoding, skipping, reconnects,
session end, and call requests turned into CallResults."""

from __future__ import annotations

import logging
import queue
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from agentdesk.client.api import ServerApi
from agentdesk.client.cti import (
    BadMessage,
    FeedResync,
    ServerCallFeed,
    decode_message,
    post_request,
)
from agentdesk.services.crm.caller_match import CallerMatch
from agentdesk.services.desk.call_requests import (
    Answer,
    CallResult,
    Hangup,
    Hold,
    Transfer,
)
from agentdesk.store.sync.backoff import Backoff
from agentdesk.telephony.client_types import ConnectionState
from agentdesk.telephony.events import AgentCalled, CoreShowChannel, QueueMember, QueueParams
from tests.client.fake_cti import (
    CALLER,
    FakeCti,
    Script,
    agent_called,
    event,
    fake_server,
    link,
    match,
    resync,
)

CLIENT_ID = uuid.UUID("0192f0c4-1111-7222-8333-944455556666")
WAIT = 10.0


class Recorder:
    """A FeedSink that queues what it gets, for the test thread to await."""

    def __init__(self) -> None:
        self.items: queue.Queue[tuple[str, Any]] = queue.Queue()

    def on_event(self, ev: Any, arrived: float) -> None:
        self.items.put(("event", (ev, arrived)))

    def on_match(self, linkedid: str, found: CallerMatch) -> None:
        self.items.put(("match", (linkedid, found)))

    def on_resync(self, snapshot: Any) -> None:
        self.items.put(("resync", snapshot))

    def on_link(self, state: ConnectionState, detail: str) -> None:
        self.items.put(("link", (state, detail)))

    def until(self, wanted: Any, timeout: float = WAIT) -> list[tuple[str, Any]]:
        """Everything received up to and including the first item ``wanted(item)`` accepts."""
        got: list[tuple[str, Any]] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self.items.get(timeout=left)
            except queue.Empty:
                break
            got.append(item)
            if wanted(item):
                return got
        raise AssertionError(f"not received within {timeout}s; got {got}")


def is_link(state: ConnectionState) -> Any:
    return lambda item: item[0] == "link" and item[1][0] is state


def kinds(items: list[tuple[str, Any]]) -> list[str]:
    return [k if k != "link" else f"link:{v[0].value}" for k, v in items]


@pytest.fixture
def server() -> Iterator[tuple[FakeCti, str]]:
    with fake_server() as made:
        yield made


@pytest.fixture
def feed_for(server: tuple[FakeCti, str]) -> Iterator[Any]:
    made: list[ServerCallFeed] = []

    def build(token: str = "tok-1") -> tuple[ServerCallFeed, Recorder]:
        api = ServerApi(server[1])
        api.token = token
        feed = ServerCallFeed(
            api,
            lambda: CLIENT_ID,
            backoff=Backoff(0.01, 0.05),
            session_poll=0.02,
        )
        sink = Recorder()
        feed.start(sink)
        made.append(feed)
        return feed, sink

    yield build
    for feed in made:
        feed.stop()
        feed.api.close()


def test_messages_arrive_decoded_and_in_order(server: Any, feed_for: Any) -> None:
    fake, _url = server
    offer = agent_called()
    fake.scripts.put(Script([link(), resync(), {"type": "heartbeat"}, match(), event(offer)]))
    feed, sink = feed_for()
    got = sink.until(lambda item: item[0] == "event")
    # "connected" is handed on after the resync that follows it, as a direct AMI login does.
    assert kinds(got) == ["link:connecting", "resync", "link:connected", "match", "event"]
    snapshot = got[1][1]
    assert isinstance(snapshot, FeedResync) and snapshot.reconnect is False
    assert [type(r) for r in snapshot.queue_events()] == [QueueParams, QueueMember]
    assert [type(c) for c in snapshot.channel_events()] == [CoreShowChannel]
    assert got[2][1] == (ConnectionState.CONNECTED, "PBX london")
    linkedid, found = got[3][1]
    assert linkedid == "1733.12" and isinstance(found, CallerMatch)
    assert found.number.raw == CALLER
    received, arrived = got[4][1]
    assert received == offer and isinstance(received, AgentCalled)
    assert arrived <= time.perf_counter()
    seen = fake.connections[0]
    assert seen.authorization == "Bearer tok-1" and seen.client_id == str(CLIENT_ID)
    assert feed.where == "the server's PBX link"


def test_malformed_messages_are_logged_without_content_and_skipped(
    server: Any, feed_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fake, _url = server
    bad_channel = resync()
    bad_channel["channels"].append({"kind": "CoreShowChannel", "duration_s": "a while"})
    not_a_channel = resync()
    not_a_channel["channels"] = [event(agent_called())["event"]]
    bad_match = match()
    bad_match["match"]["kind"] = f"call {CALLER} back"
    wrong_event = event(agent_called())
    wrong_event["event"]["queue"] = {"name": CALLER}
    frames = [
        f"not json {CALLER}",
        "[1, 2]",
        {"no": "type"},
        {"type": "event", "event": {"kind": "NotAnEvent", "caller": CALLER}},
        wrong_event,
        {"type": "match", "match": {}},
        bad_match,
        bad_channel,
        not_a_channel,
        {"type": "link", "state": "sideways"},
        {"type": "from-the-future", "caller": CALLER},
        event(agent_called("1733.99")),
    ]
    fake.scripts.put(Script(frames))
    with caplog.at_level(logging.DEBUG, logger="agentdesk.client.cti"):
        _feed, sink = feed_for()
        got = sink.until(lambda item: item[0] == "event")
    assert kinds(got) == ["link:connecting", "event"]
    assert got[-1][1][0].linkedid == "1733.99"
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(skipped) == 10
    text = caplog.text
    assert "7700900123" not in text and "0123" not in text
    assert "a while" not in text and "call" not in text.replace("CTI", "")


def test_the_feed_reconnects_after_a_close_and_says_it_was_a_reconnect(
    server: Any, feed_for: Any
) -> None:
    fake, _url = server
    fake.scripts.put(Script([link(), resync()], close=1011))
    fake.scripts.put(Script([link(), resync()]))
    _feed, sink = feed_for()
    got = sink.until(is_link(ConnectionState.CONNECTED))
    assert got[-2][1].reconnect is False
    got = sink.until(is_link(ConnectionState.CONNECTED))
    assert kinds(got) == ["link:disconnected", "resync", "link:connected"]
    assert "lost the server" in got[0][1][1]
    # The server's first resync on a new socket is a reconnect for this desk.
    assert got[1][1].reconnect is True
    assert len(fake.connections) == 2


def test_an_unreachable_server_is_retried(feed_for: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = ServerApi(f"http://127.0.0.1:{port}")
    feed = ServerCallFeed(api, backoff=Backoff(0.01, 0.02))
    sink = Recorder()
    feed.start(sink)
    try:
        sink.until(is_link(ConnectionState.DISCONNECTED))
        got = sink.until(is_link(ConnectionState.DISCONNECTED))  # and again: it keeps trying
        assert "lost the server" not in got[-1][1][1]
    finally:
        feed.stop()
        api.close()


@pytest.mark.parametrize(
    ("code", "words"),
    [(4401, "session at the server has ended"), (4403, "no phone line"), (4409, "another")],
)
def test_a_final_close_stops_until_the_session_changes(
    server: Any, feed_for: Any, code: int, words: str
) -> None:
    fake, _url = server
    fake.scripts.put(Script([], close=code))
    fake.scripts.put(Script([link(), resync()]))
    feed, sink = feed_for("old-token")
    got = sink.until(is_link(ConnectionState.FAILED))
    assert words in got[-1][1][1]
    feed.api.token = "new-token"  # the idle lock signed in again
    sink.until(is_link(ConnectionState.CONNECTED))
    # No attempt with the refused session in between: the next connection used the new one.
    assert [c.authorization for c in fake.connections] == ["Bearer old-token", "Bearer new-token"]


def test_silence_longer_than_the_heartbeat_bound_reconnects(server: Any) -> None:
    fake, url = server
    fake.scripts.put(Script([link(), resync()]))  # then says nothing
    fake.scripts.put(Script([link(), resync()]))
    api = ServerApi(url)
    api.token = "tok"
    feed = ServerCallFeed(api, backoff=Backoff(0.01, 0.02), silence=0.3)
    sink = Recorder()
    feed.start(sink)
    try:
        sink.until(is_link(ConnectionState.CONNECTED))
        got = sink.until(is_link(ConnectionState.CONNECTED))
        assert "no message for" in got[0][1][1]
    finally:
        feed.stop()
        api.close()


def test_stop_ends_an_open_feed_promptly(server: Any, feed_for: Any) -> None:
    fake, _url = server
    fake.scripts.put(Script([link(), resync()]))
    feed, sink = feed_for()
    sink.until(is_link(ConnectionState.CONNECTED))
    started = time.monotonic()
    feed.stop()
    assert time.monotonic() - started < 3


# ---------------------------------------------------------------------- requests
@pytest.fixture
def api(server: tuple[FakeCti, str]) -> Iterator[ServerApi]:
    made = ServerApi(server[1])
    made.token = "tok-r"
    yield made
    made.close()


def test_requests_are_posted_as_call_request_json(server: Any, api: ServerApi) -> None:
    fake, _url = server
    assert post_request(api, Transfer("1733.12", "2001", attended=True)) == CallResult(True, "")
    assert post_request(api, Answer()).ok
    assert fake.requests == [
        {"kind": "transfer", "linkedid": "1733.12", "target": "2001", "attended": True},
        {"kind": "answer"},
    ]
    assert fake.request_headers == ["Bearer tok-r", "Bearer tok-r"]


def test_the_pbxs_own_refusal_is_passed_on(server: Any, api: ServerApi) -> None:
    fake, _url = server
    fake.replies.put((200, {"ok": False, "message": "Extension 2001 does not exist"}))
    assert post_request(api, Transfer("1733.12", "2001")) == CallResult(
        False, "Extension 2001 does not exist"
    )


def problem(status: int, kind: str, detail: str) -> tuple[int, dict[str, Any]]:
    return status, {"type": f"https://agentdesk/problems/{kind}", "title": kind, "detail": detail}


@pytest.mark.parametrize(
    ("reply", "sentence"),
    [
        (problem(403, "not-your-call", "That call is not one of yours"), "Hang-up refused: That"),
        (problem(503, "pbx-unavailable", "The PBX link is down"), "Try again in a moment"),
        (problem(401, "session", "expired"), "your session at the server has ended"),
        (problem(422, "invalid-call-request", "linkedid: too long"), "could not read it"),
        (problem(504, "pbx-timeout", "may or may not"), "may or may not"),
        ((200, {"unexpected": True}), "check whether it took effect"),
    ],
)
def test_refusals_become_call_results_with_a_sentence(
    server: Any, api: ServerApi, reply: Any, sentence: str
) -> None:
    fake, _url = server
    fake.replies.put(reply)
    result = post_request(api, Hangup("1733.12"))
    assert result.ok is False and sentence in result.message, result


def test_an_unreachable_server_answers_a_sentence_not_an_exception() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = ServerApi(f"http://127.0.0.1:{port}")
    try:
        result = ServerCallFeed(api).request(Hold("1733.12", on=False))
    finally:
        api.close()
    assert not result.ok and result.message.startswith("Resume not sent: the server is")


def test_decode_message_names_what_is_wrong_without_the_content() -> None:
    with pytest.raises(BadMessage) as caught:
        decode_message('{"type": "event", "event": {"kind": "Dial", "number": "+447700900123"}}')
    assert "Dial" in str(caught.value) and "7700900123" not in str(caught.value)
    assert decode_message('{"type": "heartbeat"}') == ("heartbeat", None)
    with pytest.raises(BadMessage):
        decode_message(b"\xff\xfe")


def test_a_correcting_resync_is_decoded_as_such() -> None:
    plain = '{"type": "resync", "reconnect": false, "queue": [], "channels": []}'
    kind, body = decode_message(plain)
    assert kind == "resync" and body.corrects is False
    _, corrected = decode_message(plain.replace("}", ', "corrects": true}', 1))
    assert corrected.corrects is True and corrected.reconnect is False
