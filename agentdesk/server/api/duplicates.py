"""Duplicate customers for supervisors: the review list, the scan, and four-eyes merges.

Every route needs a supervisor or administrator session. The matching runs
here, where the field key is (dates of birth are compared decrypted, in
memory); the answers carry names as the review list shows them, and reasons
as phrases, never the matched number, address or date.

A merge is requested by one supervisor and approved by another: the session's
login decides who is who, never a field of the request.
"""

from __future__ import annotations

import threading
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from agentdesk.server.auth import Principal, supervisor
from agentdesk.server.context import Ctx, ServerContext
from agentdesk.server.problems import Problem
from agentdesk.services.crm.duplicate_review import CandidateRow, review_list
from agentdesk.services.crm.duplicates import DuplicateFinder, ScanReport
from agentdesk.services.crm.merge import (
    NOTE_MAX,
    MergeRefused,
    MergeRequestView,
    MergeResult,
    MergeService,
)
from agentdesk.store.audit_log import append_audit
from agentdesk.store.engine import write_session

router = APIRouter(prefix="/supervisor", tags=["duplicates"])
SCANNED = "customer.duplicate_scan"

Supervisor = Annotated[Principal, Depends(supervisor)]
ROWS = TypeAdapter(tuple[CandidateRow, ...])
REPORT = TypeAdapter(ScanReport)
REQUEST = TypeAdapter(MergeRequestView)
RESULT = TypeAdapter(MergeResult)

# One scan at a time per server process (a second would redo the same work and race on the
# candidate rows it writes).
_SCANNING = threading.Lock()
# Which refusals are "not there", "not you", and "not now".
_STATUS = {"not-found": 404, "four-eyes": 403, "note": 422, "same": 422, "kind": 422}


class MergeIn(BaseModel):
    """Merge ``merged_id`` into ``survivor_id`` (which stays)."""

    model_config = ConfigDict(extra="forbid")

    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    note: str | None = Field(default=None, max_length=NOTE_MAX)


class DecisionIn(BaseModel):
    """An optional note with a rejection."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=NOTE_MAX)


def _refused(exc: MergeRefused) -> Problem:
    return Problem(_STATUS.get(exc.code, 409), f"merge-{exc.code}", "Merge refused", str(exc))


def _service(ctx: ServerContext) -> MergeService:
    return MergeService(ctx.store, DuplicateFinder(ctx.engine, ctx.cipher))


@router.get("/duplicates")
def duplicates(
    principal: Supervisor, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> Any:
    """Open duplicate candidates, highest score first, with any merge awaiting approval."""
    return ROWS.dump_python(review_list(ctx.engine, limit), mode="json")


@router.post("/duplicates/scan")
def scan(principal: Supervisor, ctx: Ctx) -> Any:
    """Look for duplicates over every customer now (blocking keys; counts come back)."""
    if not _SCANNING.acquire(blocking=False):
        raise Problem(
            409,
            "scan-running",
            "A scan is already running",
            "Another supervisor started a scan on this server; its results show on the list "
            "when it ends.",
        )
    try:
        report = DuplicateFinder(ctx.engine, ctx.cipher).scan()
    finally:
        _SCANNING.release()
    # Every date of birth was decrypted to compare them: who asked is on the record.
    with write_session(ctx.engine) as session:
        append_audit(
            session, actor=principal.login, action=SCANNED, workstation=principal.workstation,
            details={"pairs_scored": report.pairs_scored, "candidates": report.candidates,
                     "opened": report.opened, "closed": report.closed},
        )  # fmt: skip
    return REPORT.dump_python(report, mode="json")


@router.post("/duplicates/{candidate_id}/dismiss", status_code=204)
def dismiss(candidate_id: uuid.UUID, principal: Supervisor, ctx: Ctx) -> None:
    """The pair are different people: off the list, and later scans keep it off (audited)."""
    try:
        _service(ctx).dismiss(
            candidate_id, actor=principal.login, workstation=principal.workstation
        )
    except MergeRefused as exc:
        raise _refused(exc) from exc


@router.post("/merges", status_code=201)
def request_merge(body: MergeIn, principal: Supervisor, ctx: Ctx) -> Any:
    """Ask for a merge; another supervisor approves it (audited)."""
    try:
        view = _service(ctx).request(
            survivor_id=body.survivor_id,
            merged_id=body.merged_id,
            actor=principal.login,
            note=body.note,
            workstation=principal.workstation,
        )
    except MergeRefused as exc:
        raise _refused(exc) from exc
    return REQUEST.dump_python(view, mode="json")


@router.post("/merges/{request_id}/approve")
def approve(request_id: uuid.UUID, principal: Supervisor, ctx: Ctx) -> Any:
    """Carry out a merge someone else asked for, in one transaction (audited, synced)."""

    def pinned(clients: set[uuid.UUID], survivor: uuid.UUID) -> None:
        for client in clients:  # before the commit's poke: those desktops get woken
            ctx.pins.add(client, {survivor})

    try:
        result = _service(ctx).approve(
            request_id, actor=principal.login, workstation=principal.workstation, on_pins=pinned
        )
    except MergeRefused as exc:
        raise _refused(exc) from exc
    return RESULT.dump_python(result, mode="json")


@router.post("/merges/{request_id}/reject")
def reject(
    request_id: uuid.UUID, principal: Supervisor, ctx: Ctx, body: DecisionIn | None = None
) -> Any:
    """Turn a merge request down; the requester may withdraw their own (audited)."""
    try:
        view = _service(ctx).reject(
            request_id,
            actor=principal.login,
            note=body.note if body else None,
            workstation=principal.workstation,
        )
    except MergeRefused as exc:
        raise _refused(exc) from exc
    return REQUEST.dump_python(view, mode="json")
