"""One signed-in agent's desk, without Qt: call events in, pops, state, wrap-ups and requests out.

:class:`DeskSession` is fed what the PBX link delivers (typed events, resync
snapshots, link states and, through the server, the caller match made for an
offer) and owns the rules: the :class:`CallTracker` (several calls at once,
each its own pop), the :class:`AgentStateMachine`, the caller lookups, the
wrap-ups and their after-call-work clock (:class:`WrapUpBook`). What it wants
the PBX to do leaves as :mod:`call_requests` through an injected ``send``;
what the agent should see leaves through a :class:`DeskListener`. Time,
timers and worker threads are ports, so tests run it with a hand-cranked
clock and nothing sleeps.

Pause rules: after-call work pauses only the queues that were not paused
already, with the ACW reason, and ending it unpauses only the queues still
paused with that reason. A pause the PBX set (``Auto-Pause`` after a missed
call) or the agent chose is never cleared behind their back; only the agent's
own "Available" does that.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from agentdesk.logsafe import mask_phone
from agentdesk.services.crm.caller_match import CallerMatch, CustomerCard, MatchKind, PopMatcher
from agentdesk.services.crm.phone import normalise
from agentdesk.services.desk import call_requests as req
from agentdesk.services.desk import pbx_actions as actions
from agentdesk.services.desk.agent_state import AgentStateMachine, StateSnapshot
from agentdesk.services.desk.drafts import DraftStore
from agentdesk.services.desk.ports import Clock, Runner, SendRequest
from agentdesk.services.desk.screen_pop import (
    ADOPTED,
    CallChange,
    CallInfo,
    CallPhase,
    CallTracker,
    ChangeKind,
)
from agentdesk.services.desk.wrapup import WrapUpContext, WrapUpDraft, WrapUpSaved, WrapUpService
from agentdesk.services.desk.wrapups import WrapUpBook
from agentdesk.services.platform.auth import AgentIdentity
from agentdesk.telephony.events import AmiEvent, CoreShowChannel, QueueParams

log = logging.getLogger(__name__)
CLOSING_REASON = "Desktop closed"
CONNECTED = "connected"
DISCONNECTED = "disconnected"
FAILED = "failed"
_MAX_SERVER_MATCHES = 64  # matches waiting for their AgentCalled (bounded)
_MAX_MISSED = 50  # the agent's missed-call list this session (newest first)


@dataclass(frozen=True)
class MissedCall:
    """An offer that rang here and was not answered: what the agent's list shows."""

    linkedid: str
    at: dt.datetime
    caller: str  # as shown on the pop (the agent may call back)
    queue: str | None
    reason: str
    customer_id: uuid.UUID | None = None


@dataclass(frozen=True)
class PopContent:
    """What the screen pop shows for one ringing (or answered) call."""

    call: CallInfo
    match: CallerMatch
    looking_up: bool  # a central lookup is still running
    arrived: float  # perf_counter() when the AgentCalled event was parsed
    chosen: uuid.UUID | None = None  # the customer the agent picked (or the single match)

    @property
    def linkedid(self) -> str:
        return self.call.linkedid


@dataclass(frozen=True)
class DeskOptions:
    """Per-agent and per-site call-handling settings."""

    auto_answer: bool = False
    join_queues: bool = False  # join every queue at sign-in when the agent is in none
    dial_plan: actions.DialPlan = field(default_factory=actions.DialPlan)
    region: str = "GB"


class ResyncRows(Protocol):
    """A resync snapshot: the agent's queue rows and live channels after a (re)connect."""

    reconnect: bool

    def queue_events(self) -> list[Any]: ...
    def channel_events(self) -> list[Any]: ...


class DeskListener:
    """What the desk tells whoever shows it (every method optional: no-ops here)."""

    def pop_shown(self, pop: PopContent) -> None: ...
    def pop_dismissed(self, linkedid: str, reason: str) -> None: ...
    def call_changed(self, change: CallChange) -> None: ...
    def state_changed(self, snapshot: StateSnapshot) -> None: ...
    def queues_changed(self, queues: tuple[str, ...]) -> None: ...
    def notice(self, level: str, text: str) -> None: ...
    def wrapup_started(self, ctx: WrapUpContext, draft: WrapUpDraft) -> None: ...
    def wrapup_updated(self, ctx: WrapUpContext) -> None: ...
    def wrapup_saved(self, saved: WrapUpSaved) -> None: ...
    def wrapup_failed(self, linkedid: str, message: str, field: str) -> None: ...
    def wrapup_finished(self, linkedid: str, next_state: str | None) -> None: ...
    def missed_call(self, missed: MissedCall) -> None: ...


class DeskSession:
    """Calls, screen pops, agent state and wrap-ups of the signed-in agent (Qt-free)."""

    def __init__(
        self,
        agent: AgentIdentity,
        *,
        state: AgentStateMachine,
        local: PopMatcher,
        central: PopMatcher | None,
        wrapup: WrapUpService,
        send: SendRequest,
        clock: Clock,
        runner: Runner,
        listener: DeskListener,
        options: DeskOptions | None = None,
        drafts: DraftStore | None = None,
        cache_customer: Callable[[uuid.UUID], object] | None = None,
    ) -> None:
        if not agent.interface:
            raise ValueError(f"agent {agent.login} has no phone interface configured")
        self.agent = agent
        self.interface: str = agent.interface
        self._state, self._local, self._central = state, local, central
        self._send_port, self._clock, self._runner = send, clock, runner
        self._listener = listener
        self.options = options or DeskOptions()
        self._cache_customer = cache_customer
        self._ever_connected = False
        self._closing = False
        self.tracker = CallTracker(self.interface, agent.display_name)
        self.pops: dict[str, PopContent] = {}
        self.queues: tuple[str, ...] = ()
        self._server_matches: OrderedDict[str, CallerMatch] = OrderedDict()
        self.missed_calls: list[MissedCall] = []  # newest first
        self.wrapups = WrapUpBook(
            wrapup,
            state.policy,
            clock,
            runner,
            listener,
            self._on_wrap_up_finished,
            drafts,
            live_call=self._live_call,
        )

    def start(self) -> None:
        """Read back wrap-ups a previous run left unfinished (results arrive later)."""
        self.wrapups.restore()

    @property
    def state(self) -> StateSnapshot:
        return self._state.snapshot

    @property
    def state_machine(self) -> AgentStateMachine:
        return self._state

    def current_call(self) -> CallInfo | None:
        return self.tracker.current()

    def _live_call(self, linkedid: str) -> CallInfo | None:
        call = self.tracker.get(linkedid)
        live = call is not None and call.phase in (CallPhase.CONNECTED, CallPhase.ON_HOLD)
        return call if live else None

    # ------------------------------------------------------------------ PBX input
    def handle_event(self, event: AmiEvent, arrived: float | None = None) -> None:
        """One typed event from the link (``arrived``: perf_counter() when it was parsed)."""
        arrived = time.perf_counter() if arrived is None else arrived
        snapshot = self._state.handle(event)
        if snapshot is not None:
            log.debug("agent state %s", snapshot.label)
        self._emit_state(snapshot)
        for change in self.tracker.handle(event, self._clock.now()):
            self._apply(change, arrived)

    def handle_match(self, linkedid: str, match: CallerMatch) -> None:
        """The server's match of an offer's caller (it arrives just before the AgentCalled)."""
        pop = self.pops.get(linkedid)
        if pop is not None:  # late: the pop is up already; the server's answer wins
            chosen = match.customer_id if match.kind is MatchKind.SINGLE else None
            self._show(dataclasses.replace(pop, match=match, looking_up=False, chosen=chosen))
            return
        self._server_matches[linkedid] = match
        self._server_matches.move_to_end(linkedid)
        while len(self._server_matches) > _MAX_SERVER_MATCHES:
            self._server_matches.popitem(last=False)

    def resync(self, snapshot: ResyncRows) -> None:
        rows = snapshot.queue_events()
        queues = tuple(sorted({r.queue for r in rows if isinstance(r, QueueParams)} - {""}))
        if queues != self.queues:
            self.queues = queues
            self._listener.queues_changed(queues)
        self._emit_state(self._state.resync(rows))
        if self.options.join_queues and not snapshot.reconnect and not self._state.snapshot.queues:
            self.log_in_queues()
        channels = [c for c in snapshot.channel_events() if isinstance(c, CoreShowChannel)]
        for change in self.tracker.reconcile(channels, self._clock.now()):
            self._apply(change, time.perf_counter())
        self.wrapups.resynced()
        if not self.wrapups.pending() and self.tracker.current() is None:
            # No call and no wrap-up open: an ACW pause is left over (its unpause was lost
            # while the link moved, e.g. a server instance died as ACW ended) and would
            # keep the agent from every call for good.
            self._end_acw()
        if getattr(snapshot, "corrects", False):
            pass  # the refused request's own message says the call had ended
        elif snapshot.reconnect:
            self._listener.notice(
                "info", "PBX link restored; calls and agent state resynchronised."
            )

    def link_changed(self, state: str, detail: str, where: str = "the PBX") -> None:
        """The link's state (``where``: "the PBX at host:port", or the server's link)."""
        self._emit_state(self._state.set_online(state == CONNECTED))
        if state == FAILED:
            self._listener.notice("error", f"The PBX refused the desktop's login: {detail}")
        elif state == DISCONNECTED and not self._ever_connected:
            self._listener.notice(
                "warning",
                f"Cannot reach {where} ({detail}); retrying. "
                "Calls cannot ring this desktop until it answers.",
            )
        elif state == DISCONNECTED:
            kept = " Your open wrap-up is kept." if self.wrapups.pending() else ""
            self._listener.notice("warning", f"PBX link lost ({detail}); reconnecting.{kept}")
        if state == CONNECTED:
            self._ever_connected = True

    def _apply(self, change: CallChange, arrived: float) -> None:
        call = change.call
        # The caller by the last four digits only: logs outlive the call (agentdesk.logsafe).
        log.info(
            "call %s %s from %s %s",
            call.linkedid,
            change.kind.value,
            mask_phone(call.caller_raw),
            change.detail,
        )
        ended = change.kind is ChangeKind.ENDED
        if change.kind is ChangeKind.OFFERED and change.detail == ADOPTED:
            self._adopt(call, arrived)
        elif change.kind is ChangeKind.OFFERED:
            self._offer(call, arrived, refresh_ivr=change.detail == "ivr")
        elif change.kind is ChangeKind.DISMISSED:
            self._missed(call, change.detail)
        elif ended:
            pop = self.pops.pop(call.linkedid, None)
            customer = pop.chosen if pop else None
            self.wrapups.begin(call, self.agent.id, customer, self._e164(call, pop))
        elif call.linkedid in self.pops:  # connected, held, resumed: the pop shows the phase
            self.pops[call.linkedid] = dataclasses.replace(self.pops[call.linkedid], call=call)
        self._listener.call_changed(change)
        ago = 0.0
        if change.detail == ADOPTED and call.connected_at is not None:
            ago = self._clock.now() - call.connected_at  # talking since before the restart
        self._emit_state(self._state.on_call(call if ended else self.tracker.current(), ago))
        if ended:
            self._pause_for_acw()

    def _missed(self, call: CallInfo, reason: str) -> None:
        """An offer nobody answered here: its own pop goes (no other), and it is filed."""
        pop = self.pops.pop(call.linkedid, None)
        self._server_matches.pop(call.linkedid, None)
        self._listener.pop_dismissed(call.linkedid, reason)
        self.wrapups.record_missed(
            call, self.agent.id, pop.chosen if pop else None, self._e164(call, pop)
        )
        missed = MissedCall(
            call.linkedid,
            self._clock_wall(),
            pop.match.number.display if pop is not None else call.caller_raw,
            call.queue,
            reason,
            pop.chosen if pop else None,
        )
        self.missed_calls.insert(0, missed)
        del self.missed_calls[_MAX_MISSED:]
        self._listener.missed_call(missed)
        if reason in ("not answered", "call ended while ringing") or reason.startswith(
            "not answered"
        ):
            self._emit_state(self._state.missed(reason))
            self._listener.notice("warning", f"Missed call ({reason}).")

    def _clock_wall(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock.now(), dt.UTC)

    def _e164(self, call: CallInfo, pop: PopContent | None) -> str | None:
        if pop is not None and pop.match.number.e164:
            return pop.match.number.e164
        return normalise(call.caller_raw, self.options.region).e164

    # ------------------------------------------------------------------ screen pop
    def _offer(self, call: CallInfo, arrived: float, *, refresh_ivr: bool) -> None:
        existing = self.pops.get(call.linkedid)
        if refresh_ivr and existing is not None:
            self._show(dataclasses.replace(existing, call=call))
            return
        server = self._server_matches.pop(call.linkedid, None)
        if server is not None:
            # The server matched the caller already: paint that, no lookup of our own.
            chosen = server.customer_id if server.kind is MatchKind.SINGLE else None
            self._show(PopContent(call, server, False, arrived, chosen))
            if chosen is not None:
                self._bring_into_cache(chosen)
        else:
            self._offer_direct(call, arrived)
        if self.options.auto_answer:
            self.answer()

    def _adopt(self, call: CallInfo, arrived: float) -> None:
        """A call already connected to the agent when this desk (or the server) started:
        its pop comes back (looked up like any offer) with the notes kept for it."""
        kept = self.wrapups.adopt(self.tracker.get(call.linkedid) or call)
        self._offer_direct(call, arrived)
        pop = self.pops.get(call.linkedid)
        picked = kept.customer_id if kept is not None else None  # before the restart
        if picked is not None and pop is not None and pop.chosen != picked:
            self.choose_customer(call.linkedid, picked)
        self._listener.notice(
            "info",
            "Your call in progress was picked up again"
            + (" with the notes you had typed." if kept else "."),
        )

    def _offer_direct(self, call: CallInfo, arrived: float) -> None:
        """No server match: the cache first, then the centre (which may know more owners)."""
        number = normalise(call.caller_raw, self.options.region)
        match = self._local.match_number(number)  # a failing cache answers "none, error"
        # A single local owner is confirmed centrally too: a number shared with a customer
        # this desktop does not hold must bring up the chooser, not the cached one alone.
        central_needed = (
            self._central is not None
            and number.lookup_key is not None
            and match.kind in (MatchKind.NONE, MatchKind.SINGLE)
        )
        chosen = match.customer_id if match.kind is MatchKind.SINGLE else None
        self._show(PopContent(call, match, central_needed, arrived, chosen))
        if central_needed:
            assert self._central is not None
            self._runner.submit(
                self._central.match_number,
                number,
                lane="central",
                on_done=partial(self._on_central_match, call.linkedid),
                on_error=partial(self._on_central_failed, call.linkedid),
            )

    def _show(self, pop: PopContent) -> None:
        self.pops[pop.linkedid] = pop
        self.wrapups.set_live_customer(pop.linkedid, pop.chosen)
        self._listener.pop_shown(pop)

    def _on_central_match(self, linkedid: str, match: CallerMatch) -> None:
        pop = self.pops.get(linkedid)
        local_single = (
            pop is not None and pop.match.kind is MatchKind.SINGLE and pop.match.source == "local"
        )
        if pop is not None and local_single:
            agrees = match.kind is MatchKind.SINGLE and match.customer_id == pop.match.customer_id
            if agrees or match.kind is MatchKind.NONE:
                # The centre knows no other owner (or none at all: not synced yet).
                self._show(dataclasses.replace(pop, looking_up=False))
                return
        chosen = match.customer_id if match.kind is MatchKind.SINGLE else None
        if pop is not None:
            self._show(dataclasses.replace(pop, match=match, looking_up=False, chosen=chosen))
        ctx = self.wrapups.context(linkedid)
        if ctx is not None and match.kind is not MatchKind.NONE:
            # Also when the caller already hung up: the open wrap-up gets its customer (and
            # loses a cached guess the centre contradicts: several owners, none picked).
            self.wrapups.set_customer(linkedid, chosen)
        if chosen is not None:
            self._bring_into_cache(chosen)

    def _on_central_failed(self, linkedid: str, exc: BaseException) -> None:
        pop = self.pops.get(linkedid)
        if pop is not None:
            self._show(dataclasses.replace(pop, looking_up=False))
        self._listener.notice(
            "warning",
            f"Central database unreachable; caller matched from the local "
            f"cache only ({type(exc).__name__}).",
        )

    def choose_customer(self, linkedid: str, customer_id: uuid.UUID) -> None:
        """The agent picked one of several candidates (or a search result) for this call."""
        self.wrapups.set_customer(linkedid, customer_id)
        pop = self.pops.get(linkedid)
        if pop is None:
            return
        self._show(dataclasses.replace(pop, chosen=customer_id, looking_up=True))
        self._runner.submit(
            self._card_anywhere,
            customer_id,
            lane="central",
            on_done=lambda card: self._on_card(linkedid, customer_id, card),
            on_error=lambda exc: self._on_central_failed(linkedid, exc),
        )

    def _card_anywhere(self, customer_id: uuid.UUID) -> CustomerCard | None:
        """Worker side: the cache first (a customer just created here), then the centre."""
        card = self._local.card(customer_id)
        if card is None and self._central is not None:
            card = self._central.card(customer_id)
            if card is not None:
                self._bring_into_cache(customer_id)
        return card

    def _on_card(self, linkedid: str, customer_id: uuid.UUID, card: CustomerCard | None) -> None:
        pop = self.pops.get(linkedid)
        if pop is None or pop.chosen != customer_id:
            return
        match = dataclasses.replace(pop.match, card=card)
        self._show(dataclasses.replace(pop, match=match, looking_up=False))

    # ------------------------------------------------------------------ agent commands
    def _ringing(self) -> CallInfo | None:
        """The newest call ringing here (also while another call is connected)."""
        ringing = [p.call for p in self.pops.values() if p.call.phase is CallPhase.RINGING]
        if ringing:
            return max(ringing, key=lambda c: c.offered_at)
        call = self.tracker.current()
        return call if call is not None and call.phase is CallPhase.RINGING else None

    def answer(self) -> None:
        if self._ringing() is None:
            self._listener.notice("info", "No call is ringing.")
            return
        self._send(req.Answer())

    def hangup(self) -> None:
        call = self.tracker.current()
        if call is None or not call.agent_channel:
            self._listener.notice("info", "There is no call to hang up.")
            return
        self._send(req.Hangup(call.linkedid))

    def toggle_hold(self) -> None:
        call = self.tracker.current()
        if call is None or call.phase not in (CallPhase.CONNECTED, CallPhase.ON_HOLD):
            self._listener.notice("info", "Hold needs a connected call.")
            return
        self._send(req.Hold(call.linkedid, on=call.phase is CallPhase.CONNECTED))

    def transfer(self, target: str, *, attended: bool) -> None:
        call = self.tracker.current()
        if call is None or not call.agent_channel or call.phase is CallPhase.RINGING:
            self._listener.notice("info", "Transfer needs a connected call.")
            return
        if self._dialable(target):
            self._send(req.Transfer(call.linkedid, target, attended))

    def dial(self, number: str) -> None:
        """Click-to-dial: the PBX rings the agent's phone, then calls ``number``."""
        if self._dialable(number):
            self._send(req.Dial(number), ok=f"Calling {number}: pick up your phone when it rings.")

    def go_available(self) -> None:
        """The agent's own choice: unpause every queue, whatever paused it."""
        if self._state.in_wrap_up() and self.wrapups.pending():
            self._listener.notice("info", "Save the wrap-up first.")
            return
        self._send(req.Pause(False))

    def go_not_ready(self, reason: str) -> None:
        self._send(req.Pause(True, reason))

    def log_in_queues(self, queues: Iterable[str] | None = None) -> None:
        for queue in tuple(queues or self.queues):
            self._send(req.JoinQueue(queue))

    def log_out_queues(self) -> None:
        for row in self._state.snapshot.queues:
            self._send(req.LeaveQueue(row.queue))

    def prepare_to_close(self) -> None:
        """The desktop is closing: stop auto-answering and pause in every queue, so the PBX
        offers no more calls to a phone nobody watches (membership stays for next time)."""
        self._closing = True
        self.options = dataclasses.replace(self.options, auto_answer=False)
        if self._state.snapshot.queues:
            self._send(req.Pause(True, CLOSING_REASON))

    def save_wrap_up(self, linkedid: str, draft: WrapUpDraft) -> None:
        self.wrapups.save(linkedid, draft)

    def update_draft(self, linkedid: str, draft: WrapUpDraft) -> None:
        """What the agent typed for a call, kept in the cache as typed (live call or ACW).

        A live call's draft carries the ids its wrap-up will be filed under (the agent,
        the customer the pop chose), so a crash before the call ends still files it right.
        """
        call = self.tracker.get(linkedid)
        pop = self.pops.get(linkedid)
        self.wrapups.update_draft(
            linkedid,
            draft,
            call,
            agent_id=self.agent.id,
            customer_id=pop.chosen if pop else None,
            caller_e164=self._e164(call, pop) if call is not None else None,
        )

    def save_all_wrap_ups(self) -> None:
        self.wrapups.save_all_now("The desktop is closing: open wrap-ups were saved.")

    # ------------------------------------------------------------------ after-call work
    def _pause_for_acw(self) -> None:
        """Pause, with the ACW reason, only the queues nobody paused for another reason."""
        reason = self._state.policy.acw_reason
        for row in self._state.snapshot.queues:
            if not row.paused:
                self._send(req.Pause(True, reason, queue=row.queue))

    def _end_acw(self) -> None:
        """Unpause only the queues after-call work paused (still paused with its reason)."""
        reason = self._state.policy.acw_reason
        for row in self._state.snapshot.queues:
            if row.paused and row.reason == reason:
                self._send(req.Pause(False, queue=row.queue))

    def _on_wrap_up_finished(self, linkedid: str, next_state: str | None) -> None:
        self.tracker.forget(linkedid)
        self._emit_state(self._state.wrap_up_finished())
        current = self.tracker.current()
        if current is not None:  # another call is still up: the state follows it
            self._emit_state(self._state.on_call(current))
        self._listener.wrapup_finished(linkedid, next_state)
        if self._closing:
            return  # stay paused: the desktop is going away
        if next_state:
            self.go_not_ready(next_state)
        elif not self.wrapups.pending():
            self._end_acw()

    # ------------------------------------------------------------------ internals
    def _bring_into_cache(self, customer_id: uuid.UUID) -> None:
        """A customer found centrally joins the working set, so later views find it here."""
        if self._cache_customer is not None:
            try:
                self._cache_customer(customer_id)
            except RuntimeError as exc:  # the sync engine is shutting down
                log.info("cannot cache customer %s: %s", customer_id, exc)

    def _dialable(self, number: str) -> bool:
        try:
            actions.dialable(number)
        except actions.ActionInputError as exc:
            self._listener.notice("warning", str(exc))
            return False
        return True

    def _send(self, request: req.CallRequest, ok: str | None = None) -> None:
        def result(res: req.CallResult) -> None:
            if not res.ok:
                self._listener.notice(
                    "warning",
                    f"The PBX refused {_describe(request)}: {res.message or 'no reason'}",
                )
            elif ok:
                self._listener.notice("info", ok)

        self._send_port(request, result)

    def _emit_state(self, snapshot: StateSnapshot | None) -> None:
        if snapshot is not None:
            self._listener.state_changed(snapshot)


def _describe(request: req.CallRequest) -> str:
    return {
        "answer": "the answer",
        "hangup": "the hang-up",
        "hold": "hold",
        "transfer": "the transfer",
        "dial": "the call",
        "pause": "the pause change",
        "join_queue": "the queue login",
        "leave_queue": "the queue logout",
    }.get(request.kind, request.kind)
