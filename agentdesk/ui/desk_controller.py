"""The desk session on the GUI thread: PbxLink signals in, Qt signals out.

All call logic lives in the Qt-free
:class:`~agentdesk.services.desk.session.DeskSession` (calls, pops, agent
state, wrap-ups and their after-call-work clock, call requests). This class
plugs it into Qt: the :class:`PbxLink`'s signals feed it, the bridge's worker
lanes run its blocking work, QTimers are its clock, and what it reports is
announced once, as a signal, for whichever widgets care.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, Signal

from agentdesk.services.crm.caller_match import CallerMatch, CallerMatcher, PopMatcher
from agentdesk.services.desk import call_requests as req
from agentdesk.services.desk.agent_state import AgentStateMachine, StateSnapshot
from agentdesk.services.desk.drafts import DraftStore
from agentdesk.services.desk.screen_pop import CallChange, CallInfo, CallTracker
from agentdesk.services.desk.session import (
    CLOSING_REASON,
    DeskListener,
    DeskOptions,
    DeskSession,
    MissedCall,
    PopContent,
)
from agentdesk.services.desk.wrapup import (
    WrapUpContext,
    WrapUpDraft,
    WrapUpSaved,
    WrapUpService,
)
from agentdesk.services.platform.auth import AgentIdentity
from agentdesk.telephony.events import AmiEvent
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.pbx_link import PbxLink
from agentdesk.ui.wrapup_keeper import QtClock, WrapUpKeeper

log = logging.getLogger(__name__)
_MAX_MISSED = 50  # the missed-call list's length, read-back calls included

__all__ = ["CLOSING_REASON", "DeskController", "DeskOptions", "MissedCall", "PopContent"]


class _Signals(DeskListener):
    """The session's reports, as the controller's (and the keeper's) signals."""

    def __init__(self, controller: DeskController, keeper: WrapUpKeeper) -> None:
        self._c, self._k = controller, keeper

    def pop_shown(self, pop: PopContent) -> None:
        self._c.pop_shown.emit(pop)

    def pop_dismissed(self, linkedid: str, reason: str) -> None:
        self._c.pop_dismissed.emit(linkedid, reason)

    def call_changed(self, change: CallChange) -> None:
        self._k.call_changed.emit(change)  # the wrap-up form first: notes bind to the call
        self._c.call_changed.emit(change)

    def state_changed(self, snapshot: StateSnapshot) -> None:
        self._c.state_changed.emit(snapshot)

    def queues_changed(self, queues: tuple[str, ...]) -> None:
        self._c.queues_changed.emit(queues)

    def notice(self, level: str, text: str) -> None:
        self._c.notice.emit(level, text)

    def wrapup_started(self, ctx: WrapUpContext, draft: WrapUpDraft) -> None:
        self._k.started.emit(ctx)

    def wrapup_updated(self, ctx: WrapUpContext) -> None:
        self._k.updated.emit(ctx)

    def wrapup_saved(self, saved: WrapUpSaved) -> None:
        self._k.saved.emit(saved)

    def wrapup_failed(self, linkedid: str, message: str, field: str) -> None:
        self._k.failed.emit(linkedid, message, field)

    def wrapup_finished(self, linkedid: str, next_state: str | None) -> None:
        self._k.finished.emit(linkedid, next_state)

    def missed_call(self, missed: MissedCall) -> None:
        self._c.missed_call.emit(missed)


class DeskController(QObject):
    """Qt adapter of the signed-in agent's :class:`DeskSession`."""

    pop_shown = Signal(object)  # PopContent, new or refreshed
    pop_dismissed = Signal(str, str)  # linkedid, reason
    call_changed = Signal(object)  # CallChange
    state_changed = Signal(object)  # StateSnapshot
    queues_changed = Signal(object)  # tuple[str, ...]: queues the PBX has
    notice = Signal(str, str)  # level (info | warning | error), text
    missed_call = Signal(object)  # MissedCall: an offer that rang out here
    missed_calls_read_back = Signal()  # the list now holds those filed before a restart

    def __init__(
        self,
        agent: AgentIdentity,
        link: PbxLink,
        bridge: Bridge,
        *,
        state: AgentStateMachine,
        local: CallerMatcher | PopMatcher,
        central: PopMatcher | None,
        wrapup: WrapUpService,
        options: DeskOptions | None = None,
        cache_customer: Callable[[uuid.UUID], object] | None = None,
        ensure_cached: Callable[[uuid.UUID], None] | None = None,
        drafts: DraftStore | None = None,
        missed_log: Callable[[], list[MissedCall]] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``ensure_cached`` is accepted for older callers and unused: a wrap-up no longer
        waits for its customer to reach the cache. ``drafts`` defaults to the cache the
        wrap-ups are written to. ``missed_log`` reads back the missed calls filed before a
        restart (on the local lane)."""
        super().__init__(parent)
        del ensure_cached
        self._link = link
        self.wrapups = WrapUpKeeper(self)
        self.wrapups.notice.connect(self.notice)
        self.session = DeskSession(
            agent,
            state=state,
            local=local,
            central=central,
            wrapup=wrapup,
            send=self._send_request,
            clock=QtClock(self),
            runner=bridge,
            listener=_Signals(self, self.wrapups),
            options=options,
            drafts=drafts if drafts is not None else _drafts_beside(wrapup),
            cache_customer=cache_customer,
        )
        self.wrapups.bind(self.session.wrapups, self.session.update_draft)
        link.event_received.connect(self._on_link_event)
        link.resynced.connect(self.session.resync)
        link.link_changed.connect(self._on_link_changed)
        matched = getattr(link, "matched", None)  # the server's caller match (new links)
        if matched is not None:
            matched.connect(self._on_matched)
        self.session.start()
        if missed_log is not None:
            bridge.submit(
                missed_log,
                lane="local",
                on_done=self._on_missed_read_back,
                on_error=lambda exc: log.warning("missed calls not read back: %s", exc),
            )

    # ------------------------------------------------------------------ what others read
    @property
    def agent(self) -> AgentIdentity:
        return self.session.agent

    @property
    def interface(self) -> str:
        return self.session.interface

    @property
    def link(self) -> PbxLink:
        return self._link

    @property
    def options(self) -> DeskOptions:
        return self.session.options

    @property
    def tracker(self) -> CallTracker:
        return self.session.tracker

    @property
    def pops(self) -> dict[str, PopContent]:
        return self.session.pops

    @property
    def queues(self) -> tuple[str, ...]:
        return self.session.queues

    @property
    def state(self) -> StateSnapshot:
        return self.session.state

    @property
    def state_machine(self) -> AgentStateMachine:
        return self.session.state_machine

    @property
    def missed_calls(self) -> list[MissedCall]:
        """This session's missed calls, newest first."""
        return self.session.missed_calls

    def current_call(self) -> CallInfo | None:
        return self.session.current_call()

    def _on_missed_read_back(self, filed: list[MissedCall]) -> None:
        """Calls missed before a restart join the list (those missed since stay first)."""
        calls = self.session.missed_calls
        known = {c.linkedid for c in calls}
        merged = calls + [c for c in filed if c.linkedid not in known]
        merged.sort(key=lambda c: c.at, reverse=True)
        calls[:] = merged[:_MAX_MISSED]
        if filed:
            self.missed_calls_read_back.emit()

    # ------------------------------------------------------------------ agent commands
    def answer(self) -> None:
        self.session.answer()

    def hangup(self) -> None:
        self.session.hangup()

    def toggle_hold(self) -> None:
        self.session.toggle_hold()

    def transfer(self, target: str, *, attended: bool) -> None:
        self.session.transfer(target, attended=attended)

    def dial(self, number: str) -> None:
        self.session.dial(number)

    def go_available(self) -> None:
        self.session.go_available()

    def go_not_ready(self, reason: str) -> None:
        self.session.go_not_ready(reason)

    def log_in_queues(self, queues: Iterable[str] | None = None) -> None:
        self.session.log_in_queues(queues)

    def log_out_queues(self) -> None:
        self.session.log_out_queues()

    def prepare_to_close(self) -> None:
        self.session.prepare_to_close()

    def choose_customer(self, linkedid: str, customer_id: uuid.UUID) -> None:
        self.session.choose_customer(linkedid, customer_id)

    def save_wrap_up(self, linkedid: str, draft: WrapUpDraft) -> None:
        self.session.save_wrap_up(linkedid, draft)

    # ------------------------------------------------------------------ link side
    def _on_link_event(self, event: AmiEvent, arrived: float) -> None:
        self.session.handle_event(event, arrived)

    def _on_matched(self, linkedid: str, match: CallerMatch) -> None:
        self.session.handle_match(linkedid, match)

    def _on_link_changed(self, state: str, detail: str) -> None:
        self.session.link_changed(state, detail, self._where())

    def _where(self) -> str:
        where = getattr(self._link, "where", None)
        if isinstance(where, str):
            return where
        client = getattr(self._link, "client", None)  # the older link: its AMI client
        return f"the PBX at {client.host}:{client.port}" if client is not None else "the PBX"

    def _send_request(
        self, request: req.CallRequest, on_result: Callable[[req.CallResult], None]
    ) -> None:
        send = getattr(self._link, "request", None)
        if send is not None:
            send(request, on_result)
        else:
            self._send_as_action(request, on_result)

    def _send_as_action(
        self, request: req.CallRequest, on_result: Callable[[req.CallResult], None]
    ) -> None:
        """The older link, with no ``request``: build the AMI action here (direct mode)."""
        agent = self.session.agent
        line = req.AgentLine(
            self.interface,
            agent.display_name,
            agent.extension or "",
            dial_plan=self.options.dial_plan,
        )
        linkedid = getattr(request, "linkedid", None)
        call = self.session.tracker.get(linkedid) if linkedid else None
        try:
            action = req.to_action(request, line, call.agent_channel if call else None)
        except ValueError as exc:
            on_result(req.CallResult(False, str(exc)))
            return

        def done(result: Any) -> None:
            on_result(req.CallResult(bool(result.ok), str(result.message or "")))

        self._link.send(
            action.name,
            action.as_dict(),
            on_result=done,
            on_error=lambda e: on_result(
                req.CallResult(False, f"not sent: {e or type(e).__name__}")
            ),
        )


def _drafts_beside(wrapup: WrapUpService) -> DraftStore:
    """Drafts live in the cache the wrap-ups are written to (the writer's engine)."""
    return DraftStore(wrapup.writer._engine)
