"""Merging a duplicate customer into the one that stays, with a second person's approval.

The flow (four eyes): a supervisor *requests* a merge (which customer stays,
which goes); another supervisor *approves* it (the requester never can) or
either *rejects* it. Every step is audited (``store/audit_log.py``) in the
transaction that makes it.

An approved merge runs in one central transaction, so it happens entirely or
not at all:

* contact points move to the survivor (a phone or e-mail it already has, or an
  identical address, is dropped instead of doubled; moved ones are not primary),
  identity documents and products move, and so does every other row that names
  the duplicate (interactions, tickets, reminders, notifications, call records,
  whatever table a later feature adds with a foreign key to ``customer``);
* the duplicate stays as a tombstone: ``deleted_at`` and ``merged_into`` set, so
  search and the caller match (which skip deleted customers) never return it and
  a desktop showing it can point to the survivor. Older tombstones that pointed
  at the duplicate now point at the survivor;
* a marketing opt-out, a legal hold or a vulnerability flag on the duplicate is kept on
  the survivor (an opt-out stays honoured, moved rows stay under the hold);
* the duplicate's date of birth is re-encrypted for the survivor when the
  survivor has none (the ciphertext is bound to its row);
* the change feed gets the two customer aggregates, their history rows and every
  moved ticket, interaction and reminder (versioned rows get a new version), and
  every desktop that holds the duplicate is given the survivor too (``sync_pin``),
  so its cache receives the moves.

A request records both customers' versions; an approval of a request whose
customers changed since is refused and the request marked outdated: the
approver approved what the requester saw, not what is there now.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import (
    ChangeLog,
    Customer,
    CustomerHistory,
    DuplicateCandidate,
    MergeRequest,
    SyncPin,
    utcnow,
)
from agentdesk.services.crm.duplicates import DuplicateFinder, ordered_pair
from agentdesk.services.crm.merge_moves import carry_flags, move_contacts, move_references
from agentdesk.store.audit_log import append_audit
from agentdesk.store.engine import write_session
from agentdesk.store.field_crypto import FieldDecryptError, field_context
from agentdesk.store.mutations import Changed
from agentdesk.store.sync import live
from agentdesk.store.sync.central import NOTIFY_CHANNEL, CentralStore, change_rows

REQUESTED = "customer.merge_requested"
MERGED = "customer.merged"
REJECTED = "customer.merge_rejected"
OUTDATED = "customer.merge_outdated"
DISMISSED = "customer.duplicate_dismissed"
NOTE_MAX = 500

_PIN = cast(Table, SyncPin.__table__)

PinListener = Callable[[set[uuid.UUID], uuid.UUID], None]


class MergeRefused(ValueError):
    """A request, approval, rejection or dismissal that cannot be done; ``str()`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class MergeRequestView:
    """A merge request as the review list and the API show it."""

    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    state: str
    score: int | None
    reasons: tuple[str, ...]
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None


@dataclass(frozen=True)
class MergeResult:
    """What an approved merge did: rows moved per table, and its audit entry."""

    request_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    moved: dict[str, int] = field(default_factory=dict)
    audit_id: uuid.UUID | None = None


def _view(r: MergeRequest) -> MergeRequestView:
    return MergeRequestView(
        r.id, r.survivor_id, r.merged_id, r.state, r.score, tuple(r.reasons),
        r.requested_by, r.requested_at, r.decided_by, r.decided_at,
    )  # fmt: skip


def _note(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise MergeRefused("note", f"The note is limited to {NOTE_MAX} characters.")
    return note


def _check_pair(
    session: Session, survivor_id: uuid.UUID, merged_id: uuid.UUID
) -> tuple[Customer, Customer]:
    """Both customers, locked, or the reason they cannot be merged."""
    if survivor_id == merged_id:
        raise MergeRefused("same", "A customer cannot be merged into itself.")
    survivor = session.get(Customer, survivor_id, with_for_update=True)
    merged = session.get(Customer, merged_id, with_for_update=True)
    if survivor is None or merged is None:
        which = "to keep" if survivor is None else "to merge away"
        raise MergeRefused("not-found", f"The customer {which} does not exist.")
    if survivor.merged_into is not None:
        raise MergeRefused(
            "survivor-merged",
            "The customer to keep was itself merged into another customer; "
            "merge into that one instead.",
        )
    if merged.merged_into is not None:
        raise MergeRefused("already-merged", "That customer was already merged.")
    if survivor.deleted_at is not None or merged.deleted_at is not None:
        raise MergeRefused("deleted", "A deleted customer cannot take part in a merge.")
    if survivor.kind != merged.kind:
        raise MergeRefused("kind", "A person and a business cannot be merged.")
    return survivor, merged


class MergeService:
    """Request, approve, reject and dismiss, on the central store (runs on the server)."""

    def __init__(self, store: CentralStore, finder: DuplicateFinder | None = None) -> None:
        self._store = store
        self._engine = store.engine
        self._finder = finder or DuplicateFinder(store.engine, store.field_cipher)

    # --- request ----------------------------------------------------------------------------

    def request(
        self,
        *,
        survivor_id: uuid.UUID,
        merged_id: uuid.UUID,
        actor: str,
        note: str | None = None,
        workstation: str | None = None,
    ) -> MergeRequestView:
        """Ask for ``merged_id`` to be merged into ``survivor_id``; another person approves."""
        note = _note(note)
        with write_session(self._engine) as session:
            survivor, merged = _check_pair(session, survivor_id, merged_id)
            busy = session.scalar(
                select(MergeRequest.id).where(
                    MergeRequest.state == "pending",
                    (MergeRequest.merged_id.in_((survivor_id, merged_id)))
                    | (MergeRequest.survivor_id == merged_id),
                )
            )
            if busy is not None:
                raise MergeRefused(
                    "pending",
                    "A merge involving one of these customers is already awaiting approval; "
                    "approve or reject it first.",
                )
            scored = self._finder.score(session, survivor_id, merged_id)
            request = MergeRequest(
                id=uuid7(),
                survivor_id=survivor_id,
                merged_id=merged_id,
                survivor_version=survivor.version,
                merged_version=merged.version,
                score=scored.score,
                reasons=list(scored.reasons),
                note=note,
                state="pending",
                requested_by=actor,
                requested_at=utcnow(),
            )
            session.add(request)
            self._ensure_candidate(session, survivor_id, merged_id, scored.score, scored.reasons)
            append_audit(
                session, actor=actor, action=REQUESTED, entity_type="customer",
                entity_id=merged_id, reason=note, workstation=workstation,
                details={"request_id": str(request.id), "survivor_id": str(survivor_id),
                         "merged_id": str(merged_id), "score": scored.score},
            )  # fmt: skip
            return _view(request)

    @staticmethod
    def _ensure_candidate(
        session: Session, a: uuid.UUID, b: uuid.UUID, score: int, reasons: tuple[str, ...]
    ) -> None:
        """A request made from a customer's page (not the list) still shows on the list."""
        first, second = ordered_pair(a, b)
        row = session.scalars(
            select(DuplicateCandidate).where(
                DuplicateCandidate.customer_a == first, DuplicateCandidate.customer_b == second
            )
        ).first()
        if row is None:
            session.add(
                DuplicateCandidate(
                    customer_a=first, customer_b=second, score=score, reasons=list(reasons)
                )
            )
        elif row.state == "dismissed":
            row.state, row.decided_by, row.decided_at = "open", None, None

    # --- reject / dismiss -------------------------------------------------------------------

    def reject(
        self,
        request_id: uuid.UUID,
        *,
        actor: str,
        note: str | None = None,
        workstation: str | None = None,
    ) -> MergeRequestView:
        """Turn a pending request down (anyone with the role, the requester too: a withdrawal)."""
        note = _note(note)
        with write_session(self._engine) as session:
            request = self._pending(session, request_id)
            request.state, request.decided_by, request.decided_at = "rejected", actor, utcnow()
            request.decision_note = note
            append_audit(
                session, actor=actor, action=REJECTED, entity_type="customer",
                entity_id=request.merged_id, reason=note, workstation=workstation,
                details={"request_id": str(request.id), "requested_by": request.requested_by},
            )  # fmt: skip
            return _view(request)

    def dismiss(
        self, candidate_id: uuid.UUID, *, actor: str, workstation: str | None = None
    ) -> None:
        """The pair are different people: off the list, and rescans keep it off."""
        with write_session(self._engine) as session:
            row = session.get(DuplicateCandidate, candidate_id, with_for_update=True)
            if row is None:
                raise MergeRefused("not-found", "That duplicate pair is no longer listed.")
            if row.state != "open":
                raise MergeRefused("decided", f"That pair was already {row.state}.")
            pending = session.scalar(
                select(MergeRequest.id).where(
                    MergeRequest.state == "pending",
                    MergeRequest.survivor_id.in_((row.customer_a, row.customer_b)),
                    MergeRequest.merged_id.in_((row.customer_a, row.customer_b)),
                )
            )
            if pending is not None:
                raise MergeRefused(
                    "pending", "A merge of these two is awaiting approval; reject it instead."
                )
            row.state, row.decided_by, row.decided_at = "dismissed", actor, utcnow()
            append_audit(
                session, actor=actor, action=DISMISSED, entity_type="customer",
                entity_id=row.customer_a, workstation=workstation,
                details={"candidate_id": str(row.id), "customer_a": str(row.customer_a),
                         "customer_b": str(row.customer_b)},
            )  # fmt: skip

    @staticmethod
    def _pending(session: Session, request_id: uuid.UUID) -> MergeRequest:
        request = session.get(MergeRequest, request_id, with_for_update=True)
        if request is None:
            raise MergeRefused("not-found", "No such merge request.")
        if request.state != "pending":
            raise MergeRefused("decided", f"That merge request is already {request.state}.")
        return request

    # --- approve ----------------------------------------------------------------------------

    def approve(
        self,
        request_id: uuid.UUID,
        *,
        actor: str,
        workstation: str | None = None,
        on_pins: PinListener | None = None,
    ) -> MergeResult:
        """Carry out a pending merge as a second person, in one transaction.

        ``on_pins(clients, survivor)`` hears (before the commit) which desktops were given
        the survivor because they held the duplicate.
        """
        try:
            with write_session(self._engine) as session:
                request = self._pending(session, request_id)
                if request.requested_by == actor:
                    raise MergeRefused(
                        "four-eyes",
                        "You asked for this merge; another supervisor must approve it.",
                    )
                survivor, merged = _check_pair(session, request.survivor_id, request.merged_id)
                if (survivor.version, merged.version) != (
                    request.survivor_version,
                    request.merged_version,
                ):
                    raise _Outdated()
                result, feed = self._merge(session, request, survivor, merged, actor, workstation)
                self._pin_survivor(session, merged.id, survivor.id, on_pins)
                change = live.Change.of(feed)
                if self._store.is_postgres:
                    session.execute(
                        text("SELECT pg_notify(:c, :p)"),
                        {"c": NOTIFY_CHANNEL, "p": change.payload()},
                    )
        except _Outdated:
            self._mark_outdated(request_id, actor, workstation)
            raise MergeRefused(
                "outdated",
                "One of these customers changed after the merge was requested; review the "
                "pair again and ask for a new merge.",
            ) from None
        except IntegrityError as exc:
            raise MergeRefused(
                "conflict",
                "The merge could not move every record (a database rule refused it); "
                "nothing was changed.",
            ) from exc
        if self._store.hub_key is not None:
            live.poke_in_process(self._store.hub_key, change)
        return result

    def _mark_outdated(self, request_id: uuid.UUID, actor: str, workstation: str | None) -> None:
        with write_session(self._engine) as session:
            request = session.get(MergeRequest, request_id, with_for_update=True)
            if request is None or request.state != "pending":
                return
            request.state, request.decided_by, request.decided_at = "outdated", actor, utcnow()
            append_audit(
                session, actor=actor, action=OUTDATED, entity_type="customer",
                entity_id=request.merged_id, workstation=workstation,
                details={"request_id": str(request.id)},
            )  # fmt: skip

    def _merge(
        self,
        session: Session,
        request: MergeRequest,
        survivor: Customer,
        merged: Customer,
        actor: str,
        workstation: str | None,
    ) -> tuple[MergeResult, list[dict[str, Any]]]:
        now = utcnow()
        changed: list[Changed] = []
        moved = move_contacts(session, merged.id, survivor.id)
        for name, count, ids in move_references(session, merged.id, survivor.id):
            moved[name] = moved.get(name, 0) + count
            changed += [Changed(name, i) for i in ids]
        self._carry_birth(survivor, merged)
        changed += carry_flags(session, survivor, merged, actor, now)
        # Older tombstones pointing at the duplicate now point at the survivor.
        chained = list(session.scalars(select(Customer).where(Customer.merged_into == merged.id)))
        for old in chained:
            old.merged_into, old.version, old.updated_at = survivor.id, old.version + 1, now
            changed.append(Changed("customer", old.id))
        merged.merged_into, merged.deleted_at = survivor.id, now
        for row in (survivor, merged):
            row.version, row.updated_at = row.version + 1, now
        for row, field_name, value in (
            (merged, "merged_into", survivor.id),
            (survivor, "merged_from", merged.id),
        ):
            entry = CustomerHistory(
                id=uuid7(), customer_id=row.id, field=field_name, old_value=None,
                new_value=str(value), changed_by=actor, changed_at=now,
            )  # fmt: skip
            session.add(entry)
            changed.append(Changed("customer_history", entry.id))
        request.state, request.decided_by, request.decided_at = "merged", actor, now
        first, second = ordered_pair(survivor.id, merged.id)
        session.execute(
            update(DuplicateCandidate)
            .where(DuplicateCandidate.customer_a == first, DuplicateCandidate.customer_b == second)
            .values(state="merged", decided_by=actor, decided_at=now)
        )
        # Other requests about the duplicate can never be carried out now.
        session.execute(
            update(MergeRequest)
            .where(
                MergeRequest.state == "pending",
                MergeRequest.id != request.id,
                (MergeRequest.merged_id == merged.id) | (MergeRequest.survivor_id == merged.id),
            )
            .values(state="outdated", decided_by=actor, decided_at=now)
        )
        session.flush()
        audit = append_audit(
            session, actor=actor, action=MERGED, entity_type="customer", entity_id=survivor.id,
            workstation=workstation,
            details={"request_id": str(request.id), "requested_by": request.requested_by,
                     "survivor_id": str(survivor.id), "merged_id": str(merged.id),
                     "moved": moved},
        )  # fmt: skip
        changed = [Changed("customer", survivor.id), Changed("customer", merged.id), *changed]
        feed = change_rows(session, changed)
        if feed:
            session.execute(insert(ChangeLog), feed)
        return MergeResult(request.id, survivor.id, merged.id, moved, audit.id), feed

    def _carry_birth(self, survivor: Customer, merged: Customer) -> None:
        """Give the survivor the duplicate's date of birth when it has none (re-encrypted)."""
        if survivor.birth_year is None and merged.birth_year is not None:
            survivor.birth_year = merged.birth_year
        if survivor.date_of_birth_enc is not None or merged.date_of_birth_enc is None:
            return
        cipher = self._store.field_cipher
        if cipher is None:
            raise MergeRefused(
                "no-field-key",
                "This server has no field key, so the duplicate's date of birth cannot be "
                "carried over; nothing was merged.",
            )
        try:
            clear = cipher.decrypt(
                merged.date_of_birth_enc, field_context("customer", "date_of_birth", merged.id)
            )
        except FieldDecryptError as exc:
            raise MergeRefused(
                "unreadable-birth-date",
                "The duplicate's stored date of birth cannot be read; nothing was merged.",
            ) from exc
        survivor.date_of_birth_enc = cipher.encrypt(
            clear, field_context("customer", "date_of_birth", survivor.id)
        )

    def _pin_survivor(
        self,
        session: Session,
        merged_id: uuid.UUID,
        survivor_id: uuid.UUID,
        on_pins: PinListener | None,
    ) -> None:
        clients = set(
            session.scalars(select(_PIN.c.client_id).where(_PIN.c.customer_id == merged_id))
        )
        if not clients:
            return
        dialect_insert = postgresql.insert if self._store.is_postgres else sqlite.insert
        session.execute(
            dialect_insert(_PIN)
            .values([{"client_id": c, "customer_id": survivor_id, "pinned_at": utcnow()}
                     for c in sorted(clients)])
            .on_conflict_do_nothing()
        )  # fmt: skip
        if on_pins is not None:
            on_pins(clients, survivor_id)

    # --- reads ------------------------------------------------------------------------------

    def get(self, request_id: uuid.UUID) -> MergeRequestView | None:
        with write_session(self._engine) as session:
            row = session.get(MergeRequest, request_id)
            return None if row is None else _view(row)


class _Outdated(Exception):
    """The customers changed since the request (handled in ``approve``)."""
