"""Open wrap-ups: drafts kept as typed, the after-call-work clock, and saving each exactly once.

A wrap-up opens when a call ends and stays here until its interaction has
committed to the local cache and outbox: validation errors go back to the
form, a failed local write is retried with backoff while the draft stays in
memory, on screen and in the cache, and a PBX reconnect does not touch it.
Notes a previous run kept for a call still in progress are held back until the
first resync says whether that call is still up (the desktop was restarted
mid-call: the notes go back beside the adopted call) or gone (they open as its
wrap-up); with no resync within :data:`RESYNC_GRACE` they open as a wrap-up.
When the site's ACW limit passes, the wrap-up is saved as it stands (with the
timeout disposition if the agent had not picked a valid one). The write never
waits on the server: a caller the server matched is filed under their id even
when this cache does not hold them yet.

Qt-free: time comes from a :class:`~agentdesk.services.desk.ports.Clock`, work
runs through a :class:`~agentdesk.services.desk.ports.Runner`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from agentdesk.logsafe import describe_error
from agentdesk.services.desk.agent_state import StatePolicy
from agentdesk.services.desk.drafts import DraftRecord, DraftStore
from agentdesk.services.desk.ports import Clock, Runner, TimerHandle
from agentdesk.services.desk.screen_pop import CallInfo, CallPhase
from agentdesk.services.desk.wrapup import (
    WrapUpContext,
    WrapUpDraft,
    WrapUpError,
    WrapUpSaved,
    WrapUpService,
)

log = logging.getLogger(__name__)
RETRY_SECONDS = (1, 2, 5, 10, 30)
MISSED_ATTEMPTS = 6  # a missed call's record is retried this many times, then given up
MAX_CALL_DRAFTS = 20  # notes typed during live calls (several calls at once, bounded)
RESTARTED = "desktop restarted"
RESYNC_GRACE = 10.0  # seconds a mid-call draft waits for the first resync after a restart


class WrapUpEvents(Protocol):
    """Where the book reports (the session's listener)."""

    def wrapup_started(self, ctx: WrapUpContext, draft: WrapUpDraft) -> None: ...
    def wrapup_updated(self, ctx: WrapUpContext) -> None: ...
    def wrapup_saved(self, saved: WrapUpSaved) -> None: ...
    def wrapup_failed(self, linkedid: str, message: str, field: str) -> None: ...
    def notice(self, level: str, text: str) -> None: ...


@dataclass
class _Open:
    ctx: WrapUpContext
    draft: WrapUpDraft
    deadline: float | None  # wall clock
    timer: TimerHandle | None
    saving: bool = False
    attempts: int = 0


class WrapUpBook:
    """Holds every unsaved wrap-up (and notes typed during live calls) and saves each once."""

    def __init__(
        self,
        service: WrapUpService,
        policy: StatePolicy,
        clock: Clock,
        runner: Runner,
        events: WrapUpEvents,
        finished: Callable[[str, str | None], None],
        drafts: DraftStore | None = None,
        live_call: Callable[[str], CallInfo | None] | None = None,
    ) -> None:
        self._service, self._policy = service, policy
        self._live_call = live_call or (lambda _linkedid: None)
        self._held: dict[str, DraftRecord] = {}  # mid-call drafts waiting for the resync
        self._resynced = False
        self._grace: TimerHandle | None = None
        self._clock, self._runner = clock, runner
        self._events, self._finished = events, finished
        self._drafts = drafts
        self._open: dict[str, _Open] = {}
        self._live: dict[str, DraftRecord] = {}  # drafts of calls not ended yet

    @property
    def service(self) -> WrapUpService:
        return self._service

    def pending(self) -> list[WrapUpContext]:
        return [o.ctx for o in self._open.values()]

    def context(self, linkedid: str) -> WrapUpContext | None:
        entry = self._open.get(linkedid)
        return entry.ctx if entry else None

    def draft(self, linkedid: str) -> WrapUpDraft | None:
        entry = self._open.get(linkedid)
        if entry is not None:
            return entry.draft
        live = self._live.get(linkedid)
        return live.draft if live else None

    def seconds_left(self, linkedid: str) -> float | None:
        entry = self._open.get(linkedid)
        if entry is None or entry.deadline is None:
            return None
        return max(entry.deadline - self._clock.now(), 0.0)

    # ------------------------------------------------------------------ lifecycle
    def begin(
        self,
        call: CallInfo,
        agent_id: uuid.UUID | None,
        customer_id: uuid.UUID | None,
        caller_e164: str | None = None,
    ) -> WrapUpContext | None:
        if call.linkedid in self._open:
            return None
        now = self._clock.now()
        ctx = self._service.begin(
            call, agent_id, customer_id, dt.datetime.fromtimestamp(now, dt.UTC), caller_e164
        )
        live = self._live.pop(call.linkedid, None)
        draft = live.draft if live is not None else WrapUpDraft("")
        limit = self._policy.acw_limit_seconds
        self._open_entry(ctx, draft, now + limit if limit > 0 else None)
        return ctx

    def _open_entry(self, ctx: WrapUpContext, draft: WrapUpDraft, deadline: float | None) -> None:
        linkedid = ctx.call.linkedid
        timer = None
        if deadline is not None:
            wait = max(deadline - self._clock.now(), 0.0)
            timer = self._clock.start(wait, lambda: self._on_deadline(linkedid))
        self._open[linkedid] = _Open(ctx, draft, deadline, timer)
        self._persist(linkedid)
        self._events.wrapup_started(ctx, draft)

    def set_customer(self, linkedid: str, customer_id: uuid.UUID | None) -> None:
        entry = self._open.get(linkedid)
        if entry is not None and entry.ctx.customer_id != customer_id:
            entry.ctx = replace(entry.ctx, customer_id=customer_id)
            self._persist(linkedid)
            self._events.wrapup_updated(entry.ctx)

    def set_live_customer(self, linkedid: str, customer_id: uuid.UUID | None) -> None:
        """The pop of a live call with notes now shows this customer (picked, or matched late):
        a crash before the call ends files the notes under them."""
        live = self._live.get(linkedid)
        if live is not None and live.customer_id != customer_id:
            self._live[linkedid] = replace(live, customer_id=customer_id)
            self._store(self._live[linkedid])

    def update_draft(
        self,
        linkedid: str,
        draft: WrapUpDraft,
        call: CallInfo | None = None,
        *,
        agent_id: uuid.UUID | None = None,
        customer_id: uuid.UUID | None = None,
        caller_e164: str | None = None,
    ) -> None:
        """The form's current content, kept (also in the cache) so nothing typed is lost.

        ``call`` is the live call when the agent types notes before it has ended; the ids
        are what its wrap-up would be filed under if the desktop died before the call ends.
        """
        entry = self._open.get(linkedid)
        if entry is not None:
            if entry.saving or entry.draft == draft:
                return
            entry.draft = draft
            self._persist(linkedid)
            return
        if call is None or call.phase in (CallPhase.ENDED, CallPhase.MISSED):
            return
        previous = self._live.get(linkedid)
        if previous is None and draft == WrapUpDraft(""):
            return  # nothing typed yet
        if previous is not None and previous.draft == draft and previous.call == call:
            return
        if previous is None and len(self._live) >= MAX_CALL_DRAFTS:
            self._live.pop(next(iter(self._live)))
        record = DraftRecord(
            call,
            draft,
            agent_id=agent_id,
            customer_id=customer_id,
            caller_e164=caller_e164,
        )
        self._live[linkedid] = record
        self._store(record, first=previous is None)

    def drop_live(self, linkedid: str) -> None:
        """A call that never reached wrap-up (missed): its notes go with it."""
        if self._live.pop(linkedid, None) is not None:
            self._submit_drafts("delete", linkedid)

    def save(self, linkedid: str, draft: WrapUpDraft | None = None) -> None:
        entry = self._open.get(linkedid)
        if entry is None or entry.saving:
            return
        if draft is not None:
            entry.draft = draft
        try:
            self._service.validate(entry.draft)
        except WrapUpError as exc:
            self._persist(linkedid)
            self._events.wrapup_failed(linkedid, str(exc), exc.field or "")
            return
        self._write(linkedid)

    def save_all_now(self, reason: str) -> None:
        """Save every open wrap-up as it stands (the desktop is closing)."""
        for linkedid in list(self._open):
            self._on_deadline(linkedid, reason=reason)

    def record_missed(
        self,
        call: CallInfo,
        agent_id: uuid.UUID | None,
        customer_id: uuid.UUID | None,
        caller_e164: str | None,
    ) -> None:
        """File an offer nobody answered here (ids fixed now, so a retry writes it once)."""
        self.drop_live(call.linkedid)
        when = dt.datetime.fromtimestamp(call.ended_at or self._clock.now(), dt.UTC)
        ctx = self._service.begin(call, agent_id, customer_id, when, caller_e164)
        self._write_missed(ctx, 0)

    # ------------------------------------------------------------------ restart
    def adopt(self, call: CallInfo) -> DraftRecord | None:
        """A call in progress was taken over after a restart: notes held for it go back
        beside it (as a live call's draft). Returns them, if there were any."""
        record = self._held.pop(call.linkedid, None)
        if record is None:
            record = self._live.get(call.linkedid)
            return record  # read back after the adoption already: nothing to move
        self._live[call.linkedid] = replace(record, call=call)
        log.info("notes of call %s read back beside the call in progress", call.linkedid)
        return record

    def resynced(self) -> None:
        """The link's resync was applied (calls still up were adopted): the drafts held
        for calls that did not come back open as wrap-ups."""
        self._resynced = True
        self._release_held()

    def _release_held(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        held, self._held = self._held, {}
        if held:
            self._open_restored(list(held.values()))

    def restore(self) -> None:
        """Read back the drafts a previous run left (crash, kill): offer or save each."""
        if self._drafts is None:
            return
        self._runner.submit(
            self._drafts.load,
            lane="local",
            on_done=self._on_restored,
            on_error=lambda exc: log.warning("drafts not read back: %s", describe_error(exc)),
        )

    def _on_restored(self, records: list[DraftRecord]) -> None:
        ready: list[DraftRecord] = []
        for record in records:
            if record.linkedid in self._open or record.linkedid in self._live:
                continue
            if record.ctx is None:  # typed during a call that may still be up
                live = self._live_call(record.linkedid)
                if live is not None:
                    self._live[record.linkedid] = replace(record, call=live)
                    continue
                if not self._resynced:
                    self._held[record.linkedid] = record
                    continue
            ready.append(record)
        if self._held and self._grace is None:
            self._grace = self._clock.start(RESYNC_GRACE, self._release_held)
        self._open_restored(ready)

    def _open_restored(self, records: list[DraftRecord]) -> None:
        now = self._clock.now()
        limit = self._policy.acw_limit_seconds
        for record in records:
            if record.linkedid in self._open or record.linkedid in self._live:
                continue
            ctx = record.ctx
            deadline = record.deadline
            if ctx is None:  # the desktop died mid-call: the call has ended since
                call = dataclasses.replace(
                    record.call,
                    phase=CallPhase.ENDED,
                    ended_at=record.call.ended_at or now,
                    end_reason=record.call.end_reason or RESTARTED,
                )
                ctx = self._service.begin(
                    call,
                    record.agent_id,
                    record.customer_id,
                    dt.datetime.fromtimestamp(now, dt.UTC),
                    record.caller_e164,
                )
                deadline = now + limit if limit > 0 else None
            log.info("wrap-up of call %s read back after a restart", record.linkedid)
            self._open_entry(ctx, record.draft, deadline)
        if records:
            self._events.notice(
                "info",
                "Unfinished wrap-ups from before the desktop closed were restored.",
            )

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
        self._events.notice(
            "info", reason or "After-call work time is up: the wrap-up was saved as it stood."
        )
        self._write(linkedid)

    def _write(self, linkedid: str) -> None:
        entry = self._open[linkedid]
        entry.saving = True
        now = dt.datetime.fromtimestamp(self._clock.now(), dt.UTC)
        self._runner.submit(
            self._save_job,
            entry.ctx,
            entry.draft,
            now,
            lane="local",
            on_done=lambda saved: self._on_saved(linkedid, saved),
            on_error=lambda exc: self._on_write_failed(linkedid, exc),
        )

    def _save_job(self, ctx: WrapUpContext, draft: WrapUpDraft, now: dt.datetime) -> WrapUpSaved:
        """Worker side: one local transaction (row + outbox), then the draft goes."""
        saved = self._service.save(ctx, draft, now)
        if self._drafts is not None:
            try:
                self._drafts.delete(ctx.call.linkedid)
            except Exception as exc:  # the wrap-up is stored; a stale draft saves as a no-op
                log.warning("draft of call %s not deleted: %s", ctx.call.linkedid, exc)
        return saved

    def _on_saved(self, linkedid: str, saved: WrapUpSaved) -> None:
        entry = self._open.pop(linkedid, None)
        if entry is None:
            return
        if entry.timer is not None:
            entry.timer.cancel()
        log.info(
            "wrap-up saved: call %s → interaction %s (%s), queued for the centre as #%s",
            linkedid,
            saved.interaction_id,
            entry.draft.disposition,
            saved.write.client_seq,
        )
        self._events.wrapup_saved(saved)
        self._finished(linkedid, entry.draft.next_state)

    def _on_write_failed(self, linkedid: str, exc: BaseException) -> None:
        entry = self._open.get(linkedid)
        if entry is None:
            return
        entry.saving = False
        if isinstance(exc, WrapUpError):
            self._events.wrapup_failed(linkedid, str(exc), exc.field or "")
            return
        delay = RETRY_SECONDS[min(entry.attempts, len(RETRY_SECONDS) - 1)]
        entry.attempts += 1
        log.warning(
            "wrap-up %s not written (%s); retry in %ss", linkedid, describe_error(exc), delay
        )
        self._events.wrapup_failed(
            linkedid,
            f"Could not write to this workstation's store ({type(exc).__name__}); "
            f"the wrap-up is kept and will be retried in {delay} s.",
            "",
        )
        self._clock.start(delay, lambda: self._retry(linkedid))

    def _retry(self, linkedid: str) -> None:
        entry = self._open.get(linkedid)
        if entry is not None and not entry.saving:
            self._write(linkedid)

    def _write_missed(self, ctx: WrapUpContext, attempt: int) -> None:
        def failed(exc: BaseException) -> None:
            if isinstance(exc, WrapUpError) or attempt + 1 >= MISSED_ATTEMPTS:
                log.warning(
                    "missed call %s not recorded: %s", ctx.call.linkedid, describe_error(exc)
                )
                return
            delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
            self._clock.start(delay, lambda: self._write_missed(ctx, attempt + 1))

        self._runner.submit(self._service.record_missed, ctx, lane="local", on_error=failed)

    def _persist(self, linkedid: str) -> None:
        entry = self._open.get(linkedid)
        if entry is not None and not entry.saving:
            self._store(DraftRecord(entry.ctx.call, entry.draft, entry.ctx, entry.deadline))

    def _store(self, record: DraftRecord, *, first: bool = False) -> None:
        """Write the draft to the cache; the first one of a live call is logged once kept."""
        linkedid = record.linkedid

        def kept(_result: object) -> None:
            log.info("draft of call %s kept in the cache", linkedid)

        self._submit_drafts("put", record, on_done=kept if first else None)

    def _submit_drafts(
        self, what: str, arg: object, on_done: Callable[[object], None] | None = None
    ) -> None:
        if self._drafts is None:
            return
        job = self._drafts.put if what == "put" else self._drafts.delete
        self._runner.submit(
            job,
            arg,
            lane="local",
            on_done=on_done,
            on_error=lambda exc: log.warning("draft not kept: %s", describe_error(exc)),
        )
