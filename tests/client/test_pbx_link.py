"""PbxLink over a fake feed: what a feed delivers on its thread arrives on the GUI thread, in
order (a call's match before its AgentCalled), and requests answer there too."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from agentdesk.client.api import ServerApi
from agentdesk.client.cti import FeedResync, FeedSink, ServerCallFeed, UnavailableFeed
from agentdesk.services.desk.call_requests import Answer, CallRequest, CallResult, Hold
from agentdesk.telephony.client_types import ConnectionState
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.pbx_link import PbxLink
from tests.client.fake_cti import agent_called, caller_match

pytestmark = pytest.mark.gui


class FakeFeed:
    """A feed the test drives: ``deliver`` runs sink calls on a thread of its own."""

    where = "the fake PBX"

    def __init__(self, answer: Callable[[CallRequest], CallResult] | None = None) -> None:
        self.sink: FeedSink | None = None
        self.stopped = False
        self.requests: list[tuple[CallRequest, str]] = []
        self._answer = answer or (lambda req: CallResult(True, ""))

    def start(self, sink: FeedSink) -> None:
        self.sink = sink

    def stop(self, timeout: float = 3.0) -> None:
        self.stopped = True

    def request(self, request: CallRequest) -> CallResult:
        self.requests.append((request, threading.current_thread().name))
        return self._answer(request)

    def deliver(self, *calls: Callable[[FeedSink], None]) -> None:
        assert self.sink is not None
        sink = self.sink

        def run() -> None:
            for call in calls:
                call(sink)

        thread = threading.Thread(target=run, name="fake-feed")
        thread.start()
        thread.join(5)


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    made = Bridge()
    yield made
    made.shutdown()


@pytest.fixture
def started(bridge: Bridge) -> Iterator[tuple[PbxLink, FakeFeed]]:
    feed = FakeFeed()
    link = PbxLink(feed, bridge)
    link.start()
    yield link, feed
    link.stop()


def test_the_match_arrives_before_its_agent_called(qtbot: QtBot, started: Any) -> None:
    link, feed = started
    offer, found = agent_called(), caller_match()
    seen: list[tuple[str, tuple[Any, ...]]] = []
    link.matched.connect(lambda *args: seen.append(("matched", args)))
    link.event_received.connect(lambda *args: seen.append(("event", args)))
    with qtbot.waitSignals([link.matched, link.event_received], order="strict", timeout=5_000):
        feed.deliver(
            lambda s: s.on_match(offer.linkedid, found),
            lambda s: s.on_event(offer, 12.5),
        )
    assert seen == [("matched", (offer.linkedid, found)), ("event", (offer, 12.5))]


def test_link_state_and_resync_reach_the_gui_thread_in_order(qtbot: QtBot, started: Any) -> None:
    link, feed = started
    snapshot = FeedResync(False, (), ())
    seen: list[tuple[str, bool]] = []
    link.resynced.connect(lambda _s: seen.append(("resync", _on_gui())))
    link.link_changed.connect(lambda state, _d: seen.append((state, _on_gui())))
    with qtbot.waitSignal(link.link_changed, timeout=5_000) as blocker:
        feed.deliver(
            lambda s: s.on_resync(snapshot),
            lambda s: s.on_link(ConnectionState.CONNECTED, "PBX london"),
        )
    assert blocker.args == ["connected", "PBX london"]
    assert seen == [("resync", True), ("connected", True)]
    assert link.state is ConnectionState.CONNECTED


def _on_gui() -> bool:
    return threading.current_thread() is threading.main_thread()


def test_requests_answer_on_the_gui_thread_in_the_order_made(qtbot: QtBot, started: Any) -> None:
    link, feed = started
    results: list[tuple[CallResult, bool]] = []
    for req in (Hold("1733.12", on=True), Hold("1733.12", on=False), Answer()):
        link.request(req, lambda r: results.append((r, _on_gui())))
    qtbot.waitUntil(lambda: len(results) == 3, timeout=5_000)
    assert [r for r, _ in feed.requests] == [
        Hold("1733.12", on=True),
        Hold("1733.12", on=False),
        Answer(),
    ]
    # Off the GUI thread, on the link's own request thread (not a look-up lane).
    assert all(name.startswith("agentdesk-call-requests") for _, name in feed.requests)
    assert results == [(CallResult(True, ""), True)] * 3


def test_a_feed_that_raises_still_answers_the_agent(qtbot: QtBot, bridge: Bridge) -> None:
    def broken(_req: CallRequest) -> CallResult:
        raise RuntimeError("bug")

    link = PbxLink(FakeFeed(broken), bridge)
    link.start()
    try:
        with qtbot.waitCallback(timeout=5_000) as callback:
            link.request(Answer(), callback)
        assert callback.args == [CallResult(False, "Not sent: RuntimeError.")]
    finally:
        link.stop()


def test_before_start_a_request_is_refused_at_once(bridge: Bridge) -> None:
    link = PbxLink(FakeFeed(), bridge)
    got: list[CallResult] = []
    link.request(Answer(), got.append)
    assert got and not got[0].ok and "the fake PBX" in got[0].message


def test_through_the_server_there_is_no_ami_client_and_no_raw_actions(
    qtbot: QtBot, bridge: Bridge
) -> None:
    api = ServerApi("http://127.0.0.1:9")
    link = PbxLink(ServerCallFeed(api), bridge)
    try:
        assert link.where == "the server's PBX link" and not link.direct
        with pytest.raises(RuntimeError, match="through the server"):
            _ = link.client
        errors: list[BaseException] = []
        link.send("Ping", {}, on_error=errors.append)
        assert errors and "not started" in str(errors[0])
    finally:
        link.stop()
        api.close()


def test_an_unavailable_feed_says_why(qtbot: QtBot, bridge: Bridge) -> None:
    link = PbxLink(UnavailableFeed("signed in offline."), bridge)
    link.start()
    try:
        with qtbot.waitCallback(timeout=5_000) as callback:
            link.request(Answer(), callback)
        assert callback.args == [CallResult(False, "Answer not sent: signed in offline.")]
        errors: list[BaseException] = []
        link.send("Ping", {}, on_error=errors.append)
        assert "goes through the server" in str(errors[0])
    finally:
        link.stop()
