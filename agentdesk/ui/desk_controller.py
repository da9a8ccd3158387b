"""One signed-in agent's telephony on the GUI thread: PBX events in, pops/state/wrap-ups out.

The rules live in Qt-free services (:class:`CallTracker`,
:class:`AgentStateMachine`, :class:`CallerMatcher`, :class:`WrapUpService`);
this class wires them to the :class:`PbxLink` and the :class:`Bridge` and
announces each change once, as a signal, for whichever widgets care.

The pop path is: event arrives → tracker → local-cache point lookup (the only
synchronous database access allowed here) → ``pop_shown``. A cache miss with
a reachable central store adds a central lookup on the bridge's ``central``
lane; its answer refreshes the same pop.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal

from agentdesk.logsafe import mask_phone
from agentdesk.services.crm.caller_match import CallerMatch, CallerMatcher, MatchKind, PopMatcher
from agentdesk.services.crm.phone import normalise
from agentdesk.services.desk import pbx_actions as actions
from agentdesk.services.desk.agent_state import AgentStateMachine, StateSnapshot
from agentdesk.services.desk.screen_pop import (
    CallChange,
    CallInfo,
    CallPhase,
    CallTracker,
    ChangeKind,
)
from agentdesk.services.desk.wrapup import WrapUpDraft, WrapUpService
from agentdesk.services.platform.auth import AgentIdentity
from agentdesk.telephony.client import ActionResult, ConnectionState, ResyncSnapshot
from agentdesk.telephony.events import AmiEvent, QueueParams
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.pbx_link import PbxLink
from agentdesk.ui.wrapup_keeper import WrapUpKeeper

log = logging.getLogger(__name__)
CLOSING_REASON = "Desktop closed"


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


class DeskController(QObject):
    """Coordinates calls, screen pops, agent state and wrap-ups for the signed-in agent."""

    pop_shown = Signal(object)  # PopContent, new or refreshed
    pop_dismissed = Signal(str, str)  # linkedid, reason
    call_changed = Signal(object)  # CallChange
    state_changed = Signal(object)  # StateSnapshot
    queues_changed = Signal(object)  # tuple[str, ...]: queues the PBX has
    notice = Signal(str, str)  # level (info | warning | error), text

    def __init__(
        self,
        agent: AgentIdentity,
        link: PbxLink,
        bridge: Bridge,
        *,
        state: AgentStateMachine,
        local: CallerMatcher,
        central: PopMatcher | None,
        wrapup: WrapUpService,
        options: DeskOptions | None = None,
        cache_customer: Callable[[uuid.UUID], object] | None = None,
        ensure_cached: Callable[[uuid.UUID], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        if not agent.interface:
            raise ValueError(f"agent {agent.login} has no phone interface configured")
        self.agent = agent
        self.interface: str = agent.interface
        self._link, self._bridge = link, bridge
        self._state, self._local, self._central = state, local, central
        self.options = options or DeskOptions()
        self._cache_customer = cache_customer
        self._ever_connected = False
        self._closing = False
        self.tracker = CallTracker(self.interface, agent.display_name)
        self.pops: dict[str, PopContent] = {}
        self.queues: tuple[str, ...] = ()
        self.wrapups = WrapUpKeeper(wrapup, bridge, state.policy, self, ensure_cached=ensure_cached)
        self.wrapups.finished.connect(self._on_wrap_up_finished)
        self.wrapups.notice.connect(self.notice)
        link.event_received.connect(self._on_link_event)
        link.resynced.connect(self._on_link_resynced)
        link.link_changed.connect(self._on_link_changed)

    @property
    def link(self) -> PbxLink:
        return self._link

    @property
    def state(self) -> StateSnapshot:
        return self._state.snapshot

    @property
    def state_machine(self) -> AgentStateMachine:
        return self._state

    def current_call(self) -> CallInfo | None:
        return self.tracker.current()

    # ------------------------------------------------------------------ PBX input
    def _on_link_event(self, event: AmiEvent, arrived: float) -> None:
        snapshot = self._state.handle(event)
        if snapshot is not None:
            log.debug("agent state %s", snapshot.label)
        self._emit_state(snapshot)
        for change in self.tracker.handle(event, time.time()):
            self._apply(change, arrived)

    def _on_link_resynced(self, snapshot: ResyncSnapshot) -> None:
        rows = snapshot.queue_events()
        queues = tuple(sorted({r.queue for r in rows if isinstance(r, QueueParams)} - {""}))
        if queues != self.queues:
            self.queues = queues
            self.queues_changed.emit(queues)
        self._emit_state(self._state.resync(rows))
        if self.options.join_queues and not snapshot.reconnect and not self._state.snapshot.queues:
            self.log_in_queues()
        for change in self.tracker.reconcile(snapshot.channel_events(), time.time()):
            self._apply(change, time.perf_counter())
        if snapshot.reconnect:
            self.notice.emit("info", "PBX link restored; calls and agent state resynchronised.")

    def _on_link_changed(self, state: str, detail: str) -> None:
        self._emit_state(self._state.set_online(state == ConnectionState.CONNECTED.value))
        if state == ConnectionState.FAILED.value:
            self.notice.emit("error", f"The PBX refused the desktop's login: {detail}")
        elif state == ConnectionState.DISCONNECTED.value and not self._ever_connected:
            where = f"{self._link.client.host}:{self._link.client.port}"
            self.notice.emit(
                "warning",
                f"Cannot reach the PBX at {where} ({detail}); retrying. "
                "Calls cannot ring this desktop until it answers.",
            )
        elif state == ConnectionState.DISCONNECTED.value:
            kept = " Your open wrap-up is kept." if self.wrapups.pending() else ""
            self.notice.emit("warning", f"PBX link lost ({detail}); reconnecting.{kept}")
        if state == ConnectionState.CONNECTED.value:
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
        if change.kind is ChangeKind.OFFERED:
            self._offer(call, arrived, refresh_ivr=change.detail == "ivr")
        elif change.kind is ChangeKind.DISMISSED:
            self.pops.pop(call.linkedid, None)
            self.pop_dismissed.emit(call.linkedid, change.detail)
        elif change.kind is ChangeKind.ENDED:
            pop = self.pops.pop(call.linkedid, None)
            customer = pop.chosen if pop else None
            self.wrapups.begin(call, self.agent.id, customer)
        elif call.linkedid in self.pops:  # connected, held, resumed: the pop shows the phase
            self.pops[call.linkedid] = dataclasses.replace(self.pops[call.linkedid], call=call)
        self.call_changed.emit(change)
        self._emit_state(
            self._state.on_call(call if change.kind is ChangeKind.ENDED else self.tracker.current())
        )
        if change.kind is ChangeKind.ENDED:
            self._send(actions.pause(self.interface, True, self._state.policy.acw_reason))

    # ------------------------------------------------------------------ screen pop
    def _offer(self, call: CallInfo, arrived: float, *, refresh_ivr: bool) -> None:
        existing = self.pops.get(call.linkedid)
        if refresh_ivr and existing is not None:
            self._show(dataclasses.replace(existing, call=call))
            return
        number = normalise(call.caller_raw, self.options.region)
        match = self._local.match_number(number)  # a failing cache answers "none, error"
        central_needed = (
            match.kind is MatchKind.NONE
            and number.lookup_key is not None
            and self._central is not None
        )
        chosen = match.customer_id if match.kind is MatchKind.SINGLE else None
        self._show(PopContent(call, match, central_needed, arrived, chosen))
        if central_needed:
            assert self._central is not None
            self._bridge.submit(
                self._central.match_number,
                number,
                lane="central",
                on_done=partial(self._on_central_match, call.linkedid),
                on_error=partial(self._on_central_failed, call.linkedid),
            )
        if self.options.auto_answer:
            self.answer()

    def _show(self, pop: PopContent) -> None:
        self.pops[pop.linkedid] = pop
        self.pop_shown.emit(pop)

    def _on_central_match(self, linkedid: str, match: CallerMatch) -> None:
        chosen = match.customer_id if match.kind is MatchKind.SINGLE else None
        pop = self.pops.get(linkedid)
        if pop is not None:
            self._show(dataclasses.replace(pop, match=match, looking_up=False, chosen=chosen))
        if chosen is not None:
            # Also when the caller already hung up: the open wrap-up still gets its customer.
            self.wrapups.set_customer(linkedid, chosen)
            self._bring_into_cache(chosen)

    def _on_central_failed(self, linkedid: str, exc: BaseException) -> None:
        pop = self.pops.get(linkedid)
        if pop is not None:
            self._show(dataclasses.replace(pop, looking_up=False))
        self.notice.emit(
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
        self._bridge.submit(
            self._card_anywhere,
            customer_id,
            lane="central",
            on_done=lambda card: self._on_card(linkedid, customer_id, card),
            on_error=lambda exc: self._on_central_failed(linkedid, exc),
        )

    def _card_anywhere(self, customer_id: uuid.UUID) -> Any:
        """Worker side: the cache first (a customer just created here), then the centre."""
        card = self._local.card(customer_id)
        if card is None and self._central is not None:
            card = self._central.card(customer_id)
            if card is not None:
                self._bring_into_cache(customer_id)
        return card

    def _on_card(self, linkedid: str, customer_id: uuid.UUID, card: Any) -> None:
        pop = self.pops.get(linkedid)
        if pop is None or pop.chosen != customer_id:
            return
        match = dataclasses.replace(pop.match, card=card)
        self._show(dataclasses.replace(pop, match=match, looking_up=False))

    # ------------------------------------------------------------------ agent commands
    def answer(self) -> None:
        call = self.tracker.current()
        if call is None or call.phase is not CallPhase.RINGING:
            self.notice.emit("info", "No call is ringing.")
            return
        self._send(actions.answer(self.interface))

    def hangup(self) -> None:
        call = self.tracker.current()
        if call is None or not call.agent_channel:
            self.notice.emit("info", "There is no call to hang up.")
            return
        self._send(actions.hangup(call.agent_channel))

    def toggle_hold(self) -> None:
        call = self.tracker.current()
        if call is None or call.phase not in (CallPhase.CONNECTED, CallPhase.ON_HOLD):
            self.notice.emit("info", "Hold needs a connected call.")
            return
        self._send(actions.hold(self.interface, call.phase is CallPhase.CONNECTED))

    def transfer(self, target: str, *, attended: bool) -> None:
        call = self.tracker.current()
        if call is None or not call.agent_channel or call.phase is CallPhase.RINGING:
            self.notice.emit("info", "Transfer needs a connected call.")
            return
        build = actions.attended_transfer if attended else actions.blind_transfer
        self._build_and_send(
            lambda: build(call.agent_channel or "", target, self.options.dial_plan)
        )

    def dial(self, number: str) -> None:
        """Click-to-dial: the PBX rings the agent's phone, then calls ``number``."""
        caller_id = f'"{self.agent.display_name}" <{self.agent.extension or ""}>'
        self._build_and_send(
            lambda: actions.originate(self.interface, number, caller_id, self.options.dial_plan),
            ok=f"Calling {number}: pick up your phone when it rings.",
        )

    def go_available(self) -> None:
        if self._state.in_wrap_up() and self.wrapups.pending():
            self.notice.emit("info", "Save the wrap-up first.")
            return
        self._send(actions.pause(self.interface, False))

    def go_not_ready(self, reason: str) -> None:
        self._send(actions.pause(self.interface, True, reason))

    def log_in_queues(self, queues: tuple[str, ...] | None = None) -> None:
        for queue in queues or self.queues:
            self._send(actions.queue_add(queue, self.interface, self.agent.display_name))

    def log_out_queues(self) -> None:
        for row in self._state.snapshot.queues:
            self._send(actions.queue_remove(row.queue, self.interface))

    def prepare_to_close(self) -> None:
        """The desktop is closing: stop auto-answering and pause in every queue, so the PBX
        offers no more calls to a phone nobody watches (membership stays for next time)."""
        self._closing = True
        self.options = dataclasses.replace(self.options, auto_answer=False)
        if self._state.snapshot.queues:
            self._send(actions.pause(self.interface, True, CLOSING_REASON))

    def save_wrap_up(self, linkedid: str, draft: WrapUpDraft) -> None:
        self.wrapups.save(linkedid, draft)

    # ------------------------------------------------------------------ internals
    def _bring_into_cache(self, customer_id: uuid.UUID) -> None:
        """A customer found centrally joins the working set, so later writes can refer to it."""
        if self._cache_customer is not None:
            try:
                self._cache_customer(customer_id)
            except RuntimeError as exc:  # the sync engine is shutting down
                log.info("cannot cache customer %s: %s", customer_id, exc)

    def _on_wrap_up_finished(self, linkedid: str, next_state: object) -> None:
        self.tracker.forget(linkedid)
        self._emit_state(self._state.wrap_up_finished())
        if self._closing:
            return  # stay paused: the desktop is going away
        if next_state:
            self.go_not_ready(str(next_state))
        else:
            self._send(actions.pause(self.interface, False))

    def _build_and_send(self, build: Any, ok: str | None = None) -> None:
        try:
            action = build()
        except actions.ActionInputError as exc:
            self.notice.emit("warning", str(exc))
            return
        self._send(action, ok)

    def _send(self, action: actions.PbxAction, ok: str | None = None) -> None:
        def result(res: ActionResult) -> None:
            if not res.ok:
                self.notice.emit(
                    "warning", f"The PBX refused {action.name}: {res.message or 'no reason'}"
                )
            elif ok:
                self.notice.emit("info", ok)

        self._link.send(
            action.name,
            action.as_dict(),
            on_result=result,
            on_error=lambda e: self.notice.emit(
                "warning", f"{action.name} not sent: {e or type(e).__name__}"
            ),
        )

    def _emit_state(self, snapshot: StateSnapshot | None) -> None:
        if snapshot is not None:
            self.state_changed.emit(snapshot)
