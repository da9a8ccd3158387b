"""A customer's timeline: interactions on every channel and ticket events, newest first, by page.

Pages are keyset queries on ``(started_at, id)`` using the
``(customer_id, started_at)`` index, so page 1 of a customer with 100 000
interactions costs what page 1 of a customer with ten does, and so does page
1 000. Ticket events (creation, field changes, comments) are few per customer
and are merged in. Entries carry a notes *preview*; the full text (up to
1 MB) is loaded only when an entry is expanded.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from agentdesk.ids import uuid7
from agentdesk.models import (
    Agent,
    Channel,
    Direction,
    Interaction,
    Ticket,
    TicketComment,
    TicketHistory,
)
from agentdesk.services.labels import shipped_labels
from agentdesk.services.orders.verification import order_history_text
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.base import choose, rejecting
from agentdesk.store.mutation_args.interactions import InteractionAdd
from agentdesk.store.writer import LocalWriter

PREVIEW_CHARS = 240
MAX_PAGE = 5000
_HIGHEST_KEY = str(uuid.UUID(int=(1 << 128) - 1))  # with an instant: every entry at it
ALL_EVENTS = 1_000_000  # ticket events are few per customer: count and offset read them all
TICKET_CHANNEL = "ticket"
CHANNELS = (*[c.value for c in Channel], TICKET_CHANNEL)
MANUAL_CHANNELS = ("email", "branch", "chat", "sms", "social", "web", "phone")


@dataclass(frozen=True)
class TimelineFilter:
    """Which entries to show: channels (empty = all), a date range, and text in notes/subject."""

    channels: frozenset[str] = frozenset()
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    text: str = ""

    def wants(self, channel: str) -> bool:
        return not self.channels or channel in self.channels


@dataclass(frozen=True, order=True)
class TimelineCursor:
    """Where the next page starts: strictly older than ``(at, source, key)``."""

    at: dt.datetime
    source: int  # 1 = ticket event, 0 = interaction (ticket events sort first on ties)
    key: str


@dataclass(frozen=True)
class TimelineEntry:
    """One row of the timeline, ready to paint."""

    key: str
    kind: str  # interaction | ticket_event
    at: dt.datetime
    channel: str
    direction: str | None
    agent: str | None
    duration_seconds: int | None
    disposition: str | None
    summary: str
    notes_preview: str
    notes_length: int
    ticket_number: str | None = None
    source_id: uuid.UUID | None = None

    @property
    def cursor(self) -> TimelineCursor:
        return TimelineCursor(self.at, 1 if self.kind == "ticket_event" else 0, self.key)


@dataclass(frozen=True)
class TimelinePage:
    """A page of entries and the cursor for the next one (None at the end)."""

    entries: tuple[TimelineEntry, ...]
    next_cursor: TimelineCursor | None


@dataclass(frozen=True)
class InteractionDetail:
    """Everything about one interaction, with the full notes."""

    id: uuid.UUID
    fields: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    notes: str = ""


def _preview(text: str | None) -> str:
    return " ".join((text or "")[: PREVIEW_CHARS * 2].split())[:PREVIEW_CHARS]


def _order(at: Any, key: Any, newer: bool) -> tuple[Any, Any]:
    return (at.asc(), key.asc()) if newer else (at.desc(), key.desc())


def _beyond(at: Any, key: Any, source: int, cursor: TimelineCursor, newer: bool) -> Any:
    """Rows of ``source`` strictly older (or newer) than ``cursor`` in (at, source, key) order."""
    if cursor.source == source:
        last = uuid.UUID(cursor.key)
        if newer:
            return or_(at > cursor.at, and_(at == cursor.at, key > last))
        return or_(at < cursor.at, and_(at == cursor.at, key < last))
    # Another source at the same instant sorts wholly before (source 1) or after (source 0).
    same_instant_counts = (source > cursor.source) == newer
    if newer:
        return at >= cursor.at if same_instant_counts else at > cursor.at
    return at <= cursor.at if same_instant_counts else at < cursor.at


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class TimelineService:
    """Pages through one customer's history and records notes and manual contacts."""

    def __init__(self, engine: Engine, writer: LocalWriter | None = None) -> None:
        self._engine = engine
        self._writer = writer

    def page(
        self,
        customer_id: uuid.UUID,
        flt: TimelineFilter = TimelineFilter(),
        cursor: TimelineCursor | None = None,
        limit: int = 100,
    ) -> TimelinePage:
        """Up to ``limit`` entries older than ``cursor`` (newest first)."""
        limit = max(1, min(limit, MAX_PAGE))
        with read_session(self._engine) as session:
            entries = self._interactions(session, customer_id, flt, cursor, limit)
            if flt.wants(TICKET_CHANNEL):
                entries += self._ticket_events(session, customer_id, flt, cursor, limit)
        entries.sort(key=lambda e: e.cursor, reverse=True)
        page = tuple(entries[:limit])
        more = len(entries) > limit or len(page) == limit
        return TimelinePage(page, page[-1].cursor if page and more else None)

    def page_newer(
        self,
        customer_id: uuid.UUID,
        flt: TimelineFilter,
        cursor: TimelineCursor,
        limit: int = 100,
    ) -> TimelinePage:
        """Up to ``limit`` entries just newer than ``cursor``, newest first.

        For scrolling back up a window the model trimmed: ``next_cursor`` is the newest
        entry's cursor while still newer entries exist, else None.
        """
        limit = max(1, min(limit, MAX_PAGE))
        with read_session(self._engine) as session:
            entries = self._interactions(session, customer_id, flt, cursor, limit, newer=True)
            if flt.wants(TICKET_CHANNEL):
                entries += self._ticket_events(session, customer_id, flt, cursor, limit, True)
        entries.sort(key=lambda e: e.cursor)
        page = tuple(reversed(entries[:limit]))
        more = len(entries) > limit
        return TimelinePage(page, page[0].cursor if page and more else None)

    # --- interactions ---------------------------------------------------------------------------

    def count(self, customer_id: uuid.UUID, flt: TimelineFilter = TimelineFilter()) -> int:
        """How many entries ``flt`` lets through: the length of the whole timeline."""
        with read_session(self._engine) as session:
            total = self._count_interactions(session, customer_id, flt)
            if flt.wants(TICKET_CHANNEL):
                total += len(self._ticket_events(session, customer_id, flt, None, ALL_EVENTS))
        return total

    def page_at(
        self,
        customer_id: uuid.UUID,
        flt: TimelineFilter,
        offset: int,
        limit: int = 100,
    ) -> TimelinePage:
        """Up to ``limit`` entries from position ``offset`` of the whole timeline (0 = newest).

        For a page far from any loaded one (the scrollbar dragged to the middle). Ticket
        events are few, so all of them are read. The interactions are entered at an instant
        found by an offset on the ``(customer_id, started_at)`` index, at most that many events
        before ``offset``; those newer than the instant are counted on the same index, so the
        merged position of the first interaction read is known, and the page is cut from there.
        """
        limit = max(1, min(limit, MAX_PAGE))
        offset = max(0, offset)
        with read_session(self._engine) as session:
            events: list[TimelineEntry] = []
            if flt.wants(TICKET_CHANNEL):
                events = self._ticket_events(session, customer_id, flt, None, ALL_EVENTS)
            events.sort(key=lambda e: e.cursor, reverse=True)
            newer_calls, cursor = 0, None
            anchor = self._instant_at(session, customer_id, flt, offset - len(events))
            if anchor is not None:
                newer_calls = self._count_interactions(session, customer_id, flt, anchor)
                cursor = TimelineCursor(anchor, 0, _HIGHEST_KEY)  # that instant and older
            read = offset - newer_calls + limit  # _interactions reads one more
            calls = self._interactions(session, customer_id, flt, cursor, read)
        newer = sum(1 for e in events if e.cursor > calls[0].cursor) if calls and newer_calls else 0
        merged = sorted(calls + events[newer:], key=lambda e: e.cursor, reverse=True)
        skip = offset - newer_calls - newer
        page = tuple(merged[skip : skip + limit])
        return TimelinePage(page, page[-1].cursor if len(page) == limit else None)

    # --- interactions ---------------------------------------------------------------------------

    def _interaction_filter(self, cid: uuid.UUID, flt: TimelineFilter) -> list[Any] | None:
        """The conditions on ``Interaction`` that ``flt`` sets (None: no interaction channel)."""
        wanted = [c for c in Channel if flt.wants(c.value)]
        if not wanted:
            return None
        i = Interaction
        conditions: list[Any] = [i.customer_id == cid]
        if len(wanted) < len(Channel):
            conditions.append(i.channel.in_(wanted))
        if flt.since is not None:
            conditions.append(i.started_at >= flt.since)
        if flt.until is not None:
            conditions.append(i.started_at < flt.until)
        if flt.text.strip():
            pattern = _like(flt.text.strip())
            conditions.append(
                or_(
                    i.notes.ilike(pattern, escape="\\"),
                    i.subject.ilike(pattern, escape="\\"),
                    i.disposition_code.ilike(pattern, escape="\\"),
                )
            )
        return conditions

    def _count_interactions(
        self,
        session: Session,
        cid: uuid.UUID,
        flt: TimelineFilter,
        newer_than: dt.datetime | None = None,
    ) -> int:
        """Interactions ``flt`` lets through (only those after ``newer_than`` if given)."""
        conditions = self._interaction_filter(cid, flt)
        if conditions is None:
            return 0
        if newer_than is not None:
            conditions.append(Interaction.started_at > newer_than)
        # No join and no column beyond the index: counted on (customer_id, started_at).
        stmt = select(func.count()).select_from(Interaction).where(*conditions)
        return int(session.scalar(stmt) or 0)

    def _instant_at(
        self, session: Session, cid: uuid.UUID, flt: TimelineFilter, position: int
    ) -> dt.datetime | None:
        """When the interaction at ``position`` (newest first) started; past the last one, the
        oldest's; None at position 0 or with no interaction."""
        conditions = self._interaction_filter(cid, flt)
        if position <= 0 or conditions is None:
            return None
        at = Interaction.started_at
        found = session.scalar(
            select(at).where(*conditions).order_by(at.desc()).offset(position).limit(1)
        )
        if found is None:  # fewer interactions than that: enter at the oldest
            found = session.scalar(select(at).where(*conditions).order_by(at.asc()).limit(1))
        return found

    def _interaction_query(self, cid: uuid.UUID, flt: TimelineFilter) -> Any | None:
        """The customer's interactions that ``flt`` lets through, unordered (None: no channel)."""
        conditions = self._interaction_filter(cid, flt)
        if conditions is None:
            return None
        i = Interaction
        return (
            select(
                i.id,
                i.started_at,
                i.ended_at,
                i.channel,
                i.direction,
                Agent.display_name,
                i.talk_seconds,
                i.disposition_code,
                i.subject,
                func.substr(i.notes, 1, PREVIEW_CHARS * 2),
                func.length(i.notes),
            )
            .outerjoin(Agent, Agent.id == i.agent_id)
            .where(*conditions)
        )

    def _interactions(
        self,
        session: Session,
        cid: uuid.UUID,
        flt: TimelineFilter,
        cursor: TimelineCursor | None,
        limit: int,
        newer: bool = False,
    ) -> list[TimelineEntry]:
        stmt = self._interaction_query(cid, flt)
        if stmt is None:
            return []
        i = Interaction
        stmt = stmt.order_by(*_order(i.started_at, i.id, newer)).limit(limit + 1)
        if cursor is not None:
            stmt = stmt.where(_beyond(i.started_at, i.id, 0, cursor, newer))
        return [self._interaction_entry(row) for row in session.execute(stmt)]

    @staticmethod
    def _range(stmt: Any, column: Any, flt: TimelineFilter) -> Any:
        if flt.since is not None:
            stmt = stmt.where(column >= flt.since)
        if flt.until is not None:
            stmt = stmt.where(column < flt.until)
        return stmt

    @staticmethod
    def _interaction_entry(row: Any) -> TimelineEntry:
        iid, started, ended, channel, direction, agent, talk, dispo, subject, notes, length = row
        duration = (
            talk
            if talk is not None
            else (int((ended - started).total_seconds()) if ended else None)
        )
        summary = subject or (
            "Note"
            if direction == Direction.INTERNAL
            else f"{shipped_labels().label('channel', channel.value)} contact"
        )
        return TimelineEntry(
            key=iid.hex,
            kind="interaction",
            at=started,
            channel=channel.value,
            direction=direction.value,
            agent=agent,
            duration_seconds=duration,
            disposition=dispo,
            summary=summary,
            notes_preview=_preview(notes),
            notes_length=int(length or 0),
            source_id=iid,
        )

    # --- ticket events ----------------------------------------------------------------------------

    def _ticket_events(
        self,
        session: Session,
        cid: uuid.UUID,
        flt: TimelineFilter,
        cursor: TimelineCursor | None,
        limit: int,
        newer: bool = False,
    ) -> list[TimelineEntry]:
        """Field changes and comments of this customer's tickets (few per customer)."""
        t = aliased(Ticket)
        history = (
            select(
                TicketHistory.id,
                TicketHistory.changed_at,
                TicketHistory.field,
                TicketHistory.old_value,
                TicketHistory.new_value,
                TicketHistory.changed_by,
                Agent.display_name,
                t.number,
                t.title,
                t.id,
            )
            .join(t, t.id == TicketHistory.ticket_id)
            # changed_by is an agent's login or a system job's code: the agent's name, or
            # the job in words (never "seed" or "alice" where an agent's name belongs).
            .outerjoin(Agent, Agent.login == TicketHistory.changed_by)
            .where(t.customer_id == cid)
        )
        comments = (
            select(
                TicketComment.id,
                TicketComment.created_at,
                TicketComment.body,
                Agent.display_name,
                t.number,
                t.title,
                t.id,
                func.length(TicketComment.body),
            )
            .join(t, t.id == TicketComment.ticket_id)
            .outerjoin(Agent, Agent.id == TicketComment.author_id)
            .where(t.customer_id == cid)
        )
        history = self._event_window(
            history, TicketHistory.changed_at, TicketHistory.id, flt, cursor, limit, newer
        )
        comments = self._event_window(
            comments, TicketComment.created_at, TicketComment.id, flt, cursor, limit, newer
        )
        text = flt.text.strip().lower()
        entries = [self._history_entry(r) for r in session.execute(history)]
        entries += [self._comment_entry(r) for r in session.execute(comments)]
        if text:
            entries = [
                e
                for e in entries
                if text in f"{e.summary} {e.notes_preview} {e.ticket_number}".lower()
            ]
        return entries

    def _event_window(
        self,
        stmt: Any,
        at: Any,
        key: Any,
        flt: TimelineFilter,
        cursor: TimelineCursor | None,
        limit: int,
        newer: bool,
    ) -> Any:
        stmt = self._range(stmt, at, flt).order_by(*_order(at, key, newer)).limit(limit + 1)
        return stmt if cursor is None else stmt.where(_beyond(at, key, 1, cursor, newer))

    @staticmethod
    def _history_entry(row: Any) -> TimelineEntry:
        hid, at, field_name, old, new, by, by_name, number, title, tid = row
        if field_name == "created":
            summary = f"Ticket {number} opened: {title}"
        elif (order := order_history_text(field_name, new, title)) is not None:
            summary = f"Ticket {number}: {order}"
        elif field_name.endswith("_id"):  # ids mean nothing to an agent; say what changed
            summary = f"Ticket {number}: {field_name[:-3]} changed"
        else:
            summary = f"Ticket {number}: {field_name.replace('_', ' ')} {old or '—'} → {new or '—'}"
        return TimelineEntry(
            key=hid.hex,
            kind="ticket_event",
            at=at,
            channel=TICKET_CHANNEL,
            direction=None,
            agent=by_name or shipped_labels().actor(by),
            duration_seconds=None,
            disposition=None,
            summary=summary,
            notes_preview="",
            notes_length=0,
            ticket_number=number,
            source_id=tid,
        )

    @staticmethod
    def _comment_entry(row: Any) -> TimelineEntry:
        cid, at, body, author, number, title, tid, length = row
        return TimelineEntry(
            key=cid.hex,
            kind="ticket_event",
            at=at,
            channel=TICKET_CHANNEL,
            direction=None,
            agent=author,
            duration_seconds=None,
            disposition=None,
            summary=f"Comment on {number}: {title}",
            notes_preview=_preview(body),
            notes_length=int(length or 0),
            ticket_number=number,
            source_id=tid,
        )

    # --- detail and writes --------------------------------------------------------------------

    def detail(self, interaction_id: uuid.UUID) -> InteractionDetail:
        """The full interaction, including notes of any length."""
        with read_session(self._engine) as session:
            row = session.get(Interaction, interaction_id)
            if row is None:
                raise LookupError(f"interaction {interaction_id} is not in this store")
            pairs = [
                ("Queue", row.queue),
                ("Caller ID", row.caller_id),
                ("IVR intent", shipped_labels().label("intent", row.ivr_intent)),
                ("ID&V", row.idv_result.value if row.idv_result else None),
                ("Hold", f"{row.hold_seconds}s" if row.hold_seconds else None),
                ("Wrap-up", f"{row.wrapup_seconds}s" if row.wrapup_seconds else None),
                ("Linked call", row.linkedid),
            ]
            fields = tuple((k, str(v)) for k, v in pairs if v)
            return InteractionDetail(row.id, fields, row.notes or "")

    def add_note(self, customer_id: uuid.UUID, text: str, agent_id: uuid.UUID | None) -> uuid.UUID:
        """An internal note on the timeline (direction ``internal``)."""
        if not text.strip():
            raise ValueError("a note needs some text")
        return self.log_contact(
            customer_id, "phone", "internal", text, subject="Note", agent_id=agent_id
        )

    def log_contact(
        self,
        customer_id: uuid.UUID,
        channel: str,
        direction: str,
        notes: str,
        subject: str = "",
        agent_id: uuid.UUID | None = None,
        started_at: dt.datetime | None = None,
        duration_seconds: int | None = None,
    ) -> uuid.UUID:
        """Record a contact that did not come through the PBX (branch visit, e-mail …)."""
        if self._writer is None:
            raise RuntimeError("this timeline service was built read-only")
        started = started_at or dt.datetime.now(dt.UTC)
        ended = started + dt.timedelta(seconds=duration_seconds) if duration_seconds else None
        interaction_id = uuid7()
        with rejecting("interaction.add"):
            args = InteractionAdd(
                id=interaction_id,
                customer_id=customer_id,
                channel=choose(Channel, channel, "channel"),
                direction=choose(Direction, direction, "direction"),
                started_at=started,
                ended_at=ended,
                agent_id=agent_id,
                subject=subject.strip()[:300] or None,
                notes=notes,
                talk_seconds=duration_seconds,
            )
        self._writer.write("interaction.add", args)
        return interaction_id
