"""Unfinished wrap-ups kept in the desktop's encrypted cache as the agent types them.

A draft (disposition, notes, follow-up, next state) is written for its call
while the call is live and during after-call work, with the call and the ids
the wrap-up is filed under, so a desktop that crashes or is killed loses
nothing: on the next start each unfinished draft is offered back, or saved as
it stands when its after-call-work limit has passed. The row is deleted once
the wrap-up's interaction has committed (cache and outbox).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select

from agentdesk.models import DeskDraft, utcnow
from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.desk.screen_pop import CallInfo, CallPhase
from agentdesk.services.desk.wrapup import WrapUpContext, WrapUpDraft
from agentdesk.store.engine import read_session, write_session

log = logging.getLogger(__name__)
MAX_KEPT = 200  # drafts read back at start; more would mean something is very wrong


@dataclass(frozen=True)
class DraftRecord:
    """One call's unfinished wrap-up. ``ctx`` is None while the call is still live.

    A live call's draft also keeps who it is filed under (the agent, the customer the
    pop chose, the caller's number), so a desktop that dies mid-call still files the
    notes under the right customer when it comes back.
    """

    call: CallInfo
    draft: WrapUpDraft
    ctx: WrapUpContext | None = None
    deadline: float | None = None  # wall-clock seconds when after-call work ends
    agent_id: uuid.UUID | None = None  # live calls only (``ctx`` holds them afterwards)
    customer_id: uuid.UUID | None = None
    caller_e164: str | None = None

    @property
    def linkedid(self) -> str:
        return self.call.linkedid


class DraftStore:
    """Reads and writes ``desk_draft`` rows (run it on the local worker lane)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(self, record: DraftRecord) -> None:
        data = _encode(record)
        with write_session(self._engine) as s:
            row = s.get(DeskDraft, record.linkedid)
            if row is None:
                s.add(DeskDraft(linkedid=record.linkedid, data=data, updated_at=utcnow()))
            else:
                row.data, row.updated_at = data, utcnow()

    def delete(self, linkedid: str) -> None:
        with write_session(self._engine) as s:
            s.execute(delete(DeskDraft).where(DeskDraft.linkedid == linkedid))

    def load(self) -> list[DraftRecord]:
        """Every kept draft, oldest first; an unreadable row is logged and skipped."""
        with read_session(self._engine) as s:
            rows = s.execute(
                select(DeskDraft.linkedid, DeskDraft.data)
                .order_by(DeskDraft.updated_at)
                .limit(MAX_KEPT)
            ).all()
        records = []
        for linkedid, data in rows:
            try:
                records.append(_decode(data))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("draft for call %s unreadable (%s)", linkedid, type(exc).__name__)
        return records


def _encode(record: DraftRecord) -> dict[str, Any]:
    ctx = record.ctx
    return {
        "call": dataclasses.asdict(record.call),
        "draft": dataclasses.asdict(record.draft),
        "deadline": record.deadline,
        "live": {
            "agent_id": _text(record.agent_id),
            "customer_id": _text(record.customer_id),
            "caller_e164": record.caller_e164,
        },
        "ctx": None
        if ctx is None
        else {
            "interaction_id": str(ctx.interaction_id),
            "call_record_id": str(ctx.call_record_id),
            "agent_id": _text(ctx.agent_id),
            "customer_id": _text(ctx.customer_id),
            "acw_started": ctx.acw_started.isoformat(),
            "caller_e164": ctx.caller_e164,
        },
    }


def _decode(data: dict[str, Any]) -> DraftRecord:
    call = _call(data["call"])
    draft = WrapUpDraft(**_known(WrapUpDraft, data["draft"]))
    raw = data.get("ctx")
    ctx = None
    if raw is not None:
        ctx = WrapUpContext(
            interaction_id=uuid.UUID(raw["interaction_id"]),
            call=call,
            agent_id=_uuid(raw.get("agent_id")),
            customer_id=_uuid(raw.get("customer_id")),
            acw_started=dt.datetime.fromisoformat(raw["acw_started"]),
            call_record_id=uuid.UUID(raw["call_record_id"]),
            caller_e164=raw.get("caller_e164"),
        )
    deadline = data.get("deadline")
    live = data.get("live") or {}
    return DraftRecord(
        call,
        draft,
        ctx,
        float(deadline) if deadline is not None else None,
        agent_id=_uuid(live.get("agent_id")),
        customer_id=_uuid(live.get("customer_id")),
        caller_e164=live.get("caller_e164"),
    )


def _call(data: dict[str, Any]) -> CallInfo:
    values = _known(CallInfo, data)
    values["phase"] = CallPhase(values["phase"])
    values["ivr"] = IvrData(**_known(IvrData, values.get("ivr") or {}))
    return CallInfo(**values)


def _known(cls: Any, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _uuid(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(value)
