"""Hand-cranked ports for the Qt-free desk session: a clock, a runner, a recorder."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentdesk.services.crm.caller_match import CallerMatch, CustomerCard
from agentdesk.services.crm.phone import CallerNumber
from agentdesk.services.desk.agent_state import StateSnapshot
from agentdesk.services.desk.call_requests import CallRequest, CallResult
from agentdesk.services.desk.screen_pop import CallChange
from agentdesk.services.desk.session import DeskListener, PopContent
from agentdesk.services.desk.wrapup import WrapUpContext, WrapUpDraft, WrapUpSaved

MAX_STEPS = 10_000


class _Handle:
    def __init__(self, clock: FakeClock, due: float, callback: Callable[[], None]) -> None:
        self.due, self.callback, self.cancelled = due, callback, False
        self._clock = clock

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """Time moves only when a test says so; due timers fire in order, on advance()."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self._timers: list[_Handle] = []

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    def start(self, seconds: float, callback: Callable[[], None]) -> _Handle:
        handle = _Handle(self, self.t + seconds, callback)
        self._timers.append(handle)
        return handle

    def advance(self, seconds: float) -> None:
        end = self.t + seconds
        for _ in range(MAX_STEPS):
            due = [h for h in self._timers if not h.cancelled and h.due <= end]
            if not due:
                break
            first = min(due, key=lambda h: h.due)
            self._timers.remove(first)
            self.t = max(self.t, first.due)
            first.callback()
        else:
            raise AssertionError("timers kept firing")
        self.t = end

    def pending(self) -> int:
        return sum(1 for h in self._timers if not h.cancelled)


@dataclass
class QueuedRunner:
    """Jobs wait per lane until a test drains them (the order the session submitted them)."""

    jobs: list[tuple[str, Any, tuple[Any, ...], Any, Any]] = field(default_factory=list)

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        lane: str = "local",
    ) -> None:
        self.jobs.append((lane, fn, args, on_done, on_error))

    def drain(self, lane: str | None = None) -> int:
        ran = 0
        for _ in range(MAX_STEPS):
            index = next(
                (i for i, job in enumerate(self.jobs) if lane is None or job[0] == lane), None
            )
            if index is None:
                return ran
            _lane, fn, args, on_done, on_error = self.jobs.pop(index)
            ran += 1
            try:
                result = fn(*args)
            except Exception as exc:
                if on_error is not None:
                    on_error(exc)
                continue
            if on_done is not None:
                on_done(result)
        raise AssertionError("jobs kept coming")


class Recorder(DeskListener):
    """Everything the session reported, in order."""

    def __init__(self) -> None:
        self.pops: list[PopContent] = []
        self.dismissed: list[tuple[str, str]] = []
        self.changes: list[CallChange] = []
        self.states: list[StateSnapshot] = []
        self.notices: list[tuple[str, str]] = []
        self.started: list[tuple[WrapUpContext, WrapUpDraft]] = []
        self.saved: list[WrapUpSaved] = []
        self.failed: list[tuple[str, str, str]] = []
        self.finished: list[tuple[str, str | None]] = []

    def pop_shown(self, pop: PopContent) -> None:
        self.pops.append(pop)

    def pop_dismissed(self, linkedid: str, reason: str) -> None:
        self.dismissed.append((linkedid, reason))

    def call_changed(self, change: CallChange) -> None:
        self.changes.append(change)

    def state_changed(self, snapshot: StateSnapshot) -> None:
        self.states.append(snapshot)

    def notice(self, level: str, text: str) -> None:
        self.notices.append((level, text))

    def wrapup_started(self, ctx: WrapUpContext, draft: WrapUpDraft) -> None:
        self.started.append((ctx, draft))

    def wrapup_saved(self, saved: WrapUpSaved) -> None:
        self.saved.append(saved)

    def wrapup_failed(self, linkedid: str, message: str, field: str) -> None:
        self.failed.append((linkedid, message, field))

    def wrapup_finished(self, linkedid: str, next_state: str | None) -> None:
        self.finished.append((linkedid, next_state))


@dataclass
class Sent:
    """The session's send port: requests recorded, answered ok unless told otherwise."""

    requests: list[CallRequest] = field(default_factory=list)
    answer: CallResult = field(default_factory=lambda: CallResult(True))

    def __call__(self, request: CallRequest, on_result: Callable[[CallResult], None]) -> None:
        self.requests.append(request)
        on_result(self.answer)


@dataclass
class CountingMatcher:
    """Wraps a matcher (or answers nothing) and counts what it was asked."""

    inner: Any = None
    numbers: list[str | None] = field(default_factory=list)
    cards: list[uuid.UUID] = field(default_factory=list)

    def match_number(self, number: CallerNumber) -> CallerMatch:
        self.numbers.append(number.e164)
        if self.inner is None:
            raise AssertionError("this matcher must not be asked")
        result: CallerMatch = self.inner.match_number(number)
        return result

    def card(self, customer_id: uuid.UUID) -> CustomerCard | None:
        self.cards.append(customer_id)
        if self.inner is None:
            raise AssertionError("this matcher must not be asked")
        card: CustomerCard | None = self.inner.card(customer_id)
        return card


@dataclass
class Rows:
    """A resync snapshot as the link hands it over."""

    queue: list[Any]
    channels: list[Any] = field(default_factory=list)
    reconnect: bool = False
    corrects: bool = False

    def queue_events(self) -> list[Any]:
        return list(self.queue)

    def channel_events(self) -> list[Any]:
        return list(self.channels)
