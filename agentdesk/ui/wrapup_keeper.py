"""Open wrap-ups: drafts, the after-call-work clock, and saving without ever losing one.

A wrap-up opens when a call ends (``AgentComplete``) and stays here until the
local write has committed: validation errors go back to the form, a failed
local write is retried with backoff while the draft stays in memory and on
screen, and a PBX reconnect does not touch it. When the site's ACW limit
passes, the wrap-up is saved as it stands (with the timeout disposition if
the agent had not picked a valid one), the way time-boxed ACW works in
commercial desktops.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, QTimer, Signal

from agentdesk.logsafe import describe_error
from agentdesk.services.desk.agent_state import StatePolicy
from agentdesk.services.desk.screen_pop import CallInfo
from agentdesk.services.desk.wrapup import (
    WrapUpContext,
    WrapUpDraft,
    WrapUpError,
    WrapUpSaved,
    WrapUpService,
)
from agentdesk.ui.bridge import Bridge

log = logging.getLogger(__name__)
RETRY_SECONDS = (1, 2, 5, 10, 30)


@dataclass
class _Open:
    ctx: WrapUpContext
    draft: WrapUpDraft
    deadline: float | None  # monotonic
    timer: QTimer | None
    saving: bool = False
    attempts: int = 0


class WrapUpKeeper(QObject):
    """Holds every unsaved wrap-up and saves each exactly once."""

    started = Signal(object)  # WrapUpContext
    updated = Signal(object)  # WrapUpContext (e.g. the customer was picked late)
    saved = Signal(object)  # WrapUpSaved
    failed = Signal(str, str, str)  # linkedid, message, field
    finished = Signal(str, object)  # linkedid, next state (None: Available)
    notice = Signal(str, str)

    def __init__(
        self,
        service: WrapUpService,
        bridge: Bridge,
        policy: StatePolicy,
        parent: QObject | None = None,
        *,
        ensure_cached: Callable[[uuid.UUID], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._service, self._bridge, self._policy = service, bridge, policy
        self._ensure_cached = ensure_cached
        self._open: dict[str, _Open] = {}

    @property
    def service(self) -> WrapUpService:
        return self._service

    def pending(self) -> list[WrapUpContext]:
        return [o.ctx for o in self._open.values()]

    def context(self, linkedid: str) -> WrapUpContext | None:
        entry = self._open.get(linkedid)
        return entry.ctx if entry else None

    def seconds_left(self, linkedid: str) -> float | None:
        entry = self._open.get(linkedid)
        if entry is None or entry.deadline is None:
            return None
        return max(entry.deadline - time.monotonic(), 0.0)

    def begin(
        self, call: CallInfo, agent_id: uuid.UUID | None, customer_id: uuid.UUID | None
    ) -> None:
        if call.linkedid in self._open:
            return
        ctx = self._service.begin(call, agent_id, customer_id, dt.datetime.now(dt.UTC))
        limit = self._policy.acw_limit_seconds
        timer = None
        if limit > 0:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda lid=call.linkedid: self._on_deadline(lid))
            timer.start(limit * 1000)
        deadline = time.monotonic() + limit if limit > 0 else None
        self._open[call.linkedid] = _Open(ctx, WrapUpDraft(""), deadline, timer)
        self.started.emit(ctx)

    def set_customer(self, linkedid: str, customer_id: uuid.UUID) -> None:
        entry = self._open.get(linkedid)
        if entry is not None and entry.ctx.customer_id != customer_id:
            entry.ctx = replace(entry.ctx, customer_id=customer_id)
            self.updated.emit(entry.ctx)

    def update_draft(self, linkedid: str, draft: WrapUpDraft) -> None:
        """The form's current content, kept so the ACW deadline can save it."""
        entry = self._open.get(linkedid)
        if entry is not None:
            entry.draft = draft

    def save(self, linkedid: str, draft: WrapUpDraft | None = None) -> None:
        entry = self._open.get(linkedid)
        if entry is None or entry.saving:
            return
        if draft is not None:
            entry.draft = draft
        try:
            self._service.validate(entry.draft)
        except WrapUpError as exc:
            self.failed.emit(linkedid, str(exc), exc.field or "")
            return
        self._write(linkedid)

    def save_all_now(self) -> None:
        """Save every open wrap-up as it stands (the desktop is closing)."""
        for linkedid in list(self._open):
            self._on_deadline(linkedid, reason="The desktop is closing: open wrap-ups were saved.")

    # ------------------------------------------------------------------ internals
    def _on_deadline(self, linkedid: str, reason: str | None = None) -> None:
        entry = self._open.get(linkedid)
        if entry is None or entry.saving:
            return
        try:
            self._service.validate(entry.draft)
        except WrapUpError:
            entry.draft = WrapUpDraft(
                self._policy.acw_timeout_disposition,
                entry.draft.notes[:1_000_000],
                next_state=entry.draft.next_state,
            )
        self.notice.emit(
            "info", reason or "After-call work time is up: the wrap-up was saved as it stood."
        )
        self._write(linkedid)

    def _write(self, linkedid: str) -> None:
        entry = self._open[linkedid]
        entry.saving = True
        self._bridge.submit(
            self._save_job,
            entry.ctx,
            entry.draft,
            dt.datetime.now(dt.UTC),
            lane="local",
            on_done=lambda saved: self._on_saved(linkedid, saved),
            on_error=lambda exc: self._on_write_failed(linkedid, exc),
        )

    def _save_job(self, ctx: WrapUpContext, draft: WrapUpDraft, now: dt.datetime) -> WrapUpSaved:
        """Runs on the local worker: the customer must be in the cache before a row refers to it."""
        if ctx.customer_id is not None and self._ensure_cached is not None:
            self._ensure_cached(ctx.customer_id)
        return self._service.save(ctx, draft, now)

    def _on_saved(self, linkedid: str, saved: WrapUpSaved) -> None:
        entry = self._open.pop(linkedid, None)
        if entry is None:
            return
        if entry.timer is not None:
            entry.timer.stop()
            entry.timer.deleteLater()
        log.info(
            "wrap-up saved: call %s → interaction %s (%s), queued for the centre as #%s",
            linkedid,
            saved.interaction_id,
            entry.draft.disposition,
            saved.write.client_seq,
        )
        self.saved.emit(saved)
        self.finished.emit(linkedid, entry.draft.next_state)

    def _on_write_failed(self, linkedid: str, exc: BaseException) -> None:
        entry = self._open.get(linkedid)
        if entry is None:
            return
        entry.saving = False
        if isinstance(exc, WrapUpError):
            self.failed.emit(linkedid, str(exc), exc.field or "")
            return
        delay = RETRY_SECONDS[min(entry.attempts, len(RETRY_SECONDS) - 1)]
        entry.attempts += 1
        log.warning(
            "wrap-up %s not written (%s); retry in %ss", linkedid, describe_error(exc), delay
        )
        self.failed.emit(
            linkedid,
            f"Could not write to this workstation's store ({type(exc).__name__}); "
            f"the wrap-up is kept and will be retried in {delay} s.",
            "",
        )
        QTimer.singleShot(delay * 1000, self, lambda: self._retry(linkedid))

    def _retry(self, linkedid: str) -> None:
        entry = self._open.get(linkedid)
        if entry is not None and not entry.saving:
            self._write(linkedid)
