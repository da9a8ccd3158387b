"""Customer notifications: ticket events → a durable outbox → e-mail or SMS → the timeline.

Three steps, each safe to stop at any point and run again:

1. :meth:`NotificationService.intake` reads the central change feed after its own
   cursor (``sync_state`` ``notifications.cursor``) for ticket-history rows — a ticket
   created, a status changed — whichever path wrote them (a desktop's push, the
   server's own jobs). Each event queues one ``notification`` row per template it
   triggers (``resources/notifications``), keyed by history row and template, in the
   same transaction that moves the cursor: an event is queued once, never skipped.
2. :meth:`NotificationService.dispatch` sends what is due. A row is claimed first (a
   conditional update that only one instance can win, which also puts its next
   attempt a claim-time ahead, so a crash mid-send only delays it); the address,
   channel, language and texts are read then, from the customer and ticket as they
   stand. A marketing message to a customer who opted out is ``suppressed``;
   service messages always go. A failure that can pass (relay down, 4xx) is tried
   again with back-off; one that cannot (a bounce at the relay, no address) or too
   many attempts leave the row ``held`` for supervisors, who can send it again.
3. A sent message is written, in the transaction that marks it sent, as an outbound
   interaction on the customer's timeline (through the ``interaction.add`` mutator and
   the change feed, so desktops see it like any other contact).

Nothing here logs an address, a name or a text: rows are named by their id.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol, cast

from sqlalchemy import Table, and_, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import (
    ChangeLog,
    Channel,
    ContactLabel,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Direction,
    Notification,
    NotificationState,
    SyncState,
    Ticket,
    TicketStatus,
    utcnow,
)
from agentdesk.services.notifications.channels import DeliveryError, SmsGateway
from agentdesk.services.notifications.templates import Catalog, NotifyChannel, Rendered
from agentdesk.store.engine import read_session, write_session
from agentdesk.store.mutations import MutationContext, MutationRejected, apply_mutation
from agentdesk.store.sync import live
from agentdesk.store.sync.central import NOTIFY_CHANNEL, CentralStore, change_rows
from agentdesk.store.sync.protocol import Cursor, ResyncRequired

log = logging.getLogger(__name__)

CURSOR_KEY = "notifications.cursor"
ACTOR = "notifications"
CLAIM = dt.timedelta(minutes=5)  # a claimed row is due again after this if its sender died
FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY = dt.timedelta(hours=1)
MAX_ATTEMPTS = 10
_CHANGES = cast(Table, ChangeLog.__table__)
Clock = Callable[[], dt.datetime]


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4 … minutes after the 1st, 2nd, 3rd … failed attempt, at most an hour."""
    delay: dt.timedelta = FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_RETRY)


@dataclass(frozen=True)
class NotificationView:
    """One outbox row for the supervisors' list: no address, no text."""

    id: uuid.UUID
    template: str
    category: str
    state: str
    channel: str | None
    language: str | None
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    customer_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    ticket_number: str | None


@dataclass(frozen=True)
class _Message:
    channel: NotifyChannel
    language: str
    address: str
    rendered: Rendered


class _Hold(Exception):
    """The row cannot be sent as it stands (no address, …): hold it with this reason."""


class _Suppress(Exception):
    """The row must not be sent (opted out of marketing, ticket deleted)."""


class NotificationService:
    """Queues, sends and lists customer notifications on one central store."""

    def __init__(
        self,
        store: CentralStore,
        catalog: Catalog,
        *,
        mailer: Mailer | None,
        sms: SmsGateway | None,
        from_address: str = "customer-service@localhost",
        clock: Clock = utcnow,
        batch: int = 20,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.store = store
        self.engine = store.engine
        self.catalog = catalog
        self.mailer = mailer
        self.sms = sms
        self.from_address = from_address
        self.clock = clock
        self.batch = batch
        self.max_attempts = max_attempts

    # --- 1. intake ------------------------------------------------------------------------

    def start_cursor(self) -> Cursor:
        """The intake's position; on first use the feed's head (history is not re-notified)."""
        with write_session(self.engine) as s:
            row = s.get(SyncState, CURSOR_KEY)
            if row is None:
                head = self.store.head()
                s.add(SyncState(key=CURSOR_KEY, value=str(head)))
                return head
            return Cursor.parse(row.value)

    def intake(self, limit: int = 500) -> int:
        """Queue the notifications of ticket events since the cursor; how many were queued."""
        cursor = self.start_cursor()
        try:
            rows, upto = self.store.pull_page(
                cursor, limit, visible=_CHANGES.c.entity_type == "ticket_history"
            )
        except ResyncRequired:
            # Down for longer than the feed is kept: what was pruned cannot be read back.
            upto = self.store.floor()
            rows = []
            log.warning(
                "notification intake: change feed pruned past %s; resuming at %s", cursor, upto
            )
        queued = 0
        now = self.clock()
        with write_session(self.engine) as s:
            for row in rows:
                if row.op != "upsert" or not row.data:
                    continue
                queued += self._queue_event(s, row.data["row"], now)
            state = s.get(SyncState, CURSOR_KEY, with_for_update=True)
            if state is None:
                s.add(SyncState(key=CURSOR_KEY, value=str(upto)))
            elif Cursor.parse(state.value) < upto:
                state.value = str(upto)
        return queued

    def _queue_event(self, s: Session, history: dict[str, Any], now: dt.datetime) -> int:
        field = history.get("field")
        if field not in ("created", "status"):
            return 0
        ticket = s.get(Ticket, uuid.UUID(str(history["ticket_id"])))
        if ticket is None or ticket.customer_id is None:
            return 0  # a ticket about no customer tells nobody
        old_status: str | None = None
        if field == "created":
            specs = self.catalog.for_ticket_event("created", reason=ticket.reason)
            status: str | None = TicketStatus.NEW.value
        else:
            try:
                new = TicketStatus(str(history.get("new_value")))
            except ValueError:
                return 0
            old_status = history.get("old_value")
            specs = self.catalog.for_ticket_event(
                "status", new, reason=ticket.reason, old_status=old_status
            )
            status = new.value
        if not specs:
            return 0
        if field == "created":
            status = ticket.status.value
        values = [
            {
                "id": uuid7(),
                "event_key": f"{history['id']}:{spec.name}",
                "template": spec.name,
                "category": spec.category,
                "customer_id": ticket.customer_id,
                "ticket_id": ticket.id,
                "params": {"status": status, "old_status": old_status},
                "state": NotificationState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "interaction_id": uuid7(),
                "created_at": now,
            }
            for spec in specs
        ]
        dialect_insert = postgresql.insert if self.store.is_postgres else sqlite.insert
        queued = s.scalars(
            dialect_insert(Notification)
            .values(values)
            .on_conflict_do_nothing()
            .returning(Notification.id)
        ).all()
        return len(queued)

    # --- 2. dispatch ----------------------------------------------------------------------

    def dispatch(self, limit: int | None = None) -> int:
        """Send what is due (at most ``limit``, default the batch); how many went out."""
        now = self.clock()
        with read_session(self.engine) as s:
            due = s.scalars(
                select(Notification.id)
                .where(
                    Notification.state == NotificationState.PENDING,
                    Notification.next_attempt_at <= now,
                )
                .order_by(Notification.next_attempt_at)
                .limit(limit or self.batch)
            ).all()
        return sum(self._send_one(nid) for nid in due)

    def _claim(self, nid: uuid.UUID, now: dt.datetime) -> int | None:
        """Take the row for one attempt; its attempt number, or None if another sender has it."""
        with write_session(self.engine) as s:
            result = s.execute(
                update(Notification)
                .where(
                    Notification.id == nid,
                    Notification.state == NotificationState.PENDING,
                    Notification.next_attempt_at <= now,
                )
                .values(attempts=Notification.attempts + 1, next_attempt_at=now + CLAIM)
                .returning(Notification.attempts)
            )
            attempts = result.scalar_one_or_none()
        return None if attempts is None else int(attempts)

    def _send_one(self, nid: uuid.UUID) -> int:
        now = self.clock()
        attempts = self._claim(nid, now)
        if attempts is None:
            return 0
        try:
            message, row = self._compose(nid)
        except _Suppress as exc:
            self._finish(nid, NotificationState.SUPPRESSED, str(exc))
            log.info("notification %s suppressed: %s", nid, exc)
            return 0
        except _Hold as exc:
            self._finish(nid, NotificationState.HELD, str(exc))
            log.warning("notification %s held: %s", nid, exc)
            return 0
        try:
            self._deliver(row, message, now)
        except DeliveryError as exc:
            if exc.permanent or attempts >= self.max_attempts:
                reason = str(exc) if exc.permanent else f"gave up after {attempts} attempts: {exc}"
                self._finish(nid, NotificationState.HELD, reason, message)
                log.warning("notification %s held: %s", nid, reason)
            else:
                self._retry_later(nid, str(exc), now + backoff(attempts), message)
                log.warning("notification %s attempt %d failed, retrying: %s", nid, attempts, exc)
            return 0
        self._mark_sent(row, message)
        log.info("notification %s (%s) sent by %s", nid, row.template, message.channel)
        return 1

    def _compose(self, nid: uuid.UUID) -> tuple[_Message, Notification]:
        with read_session(self.engine) as s:
            row = s.get(Notification, nid)
            if row is None:
                raise _Suppress("gone")
            customer = None if row.customer_id is None else s.get(Customer, row.customer_id)
            if customer is None or customer.deleted_at is not None:
                raise _Suppress("the customer no longer exists")
            if row.category == "marketing" and customer.marketing_opt_out:
                raise _Suppress("the customer opted out of marketing messages")
            ticket = None if row.ticket_id is None else s.get(Ticket, row.ticket_id)
            if ticket is None or ticket.deleted_at is not None:
                raise _Suppress("the ticket was deleted")
            language = self.catalog.language_for(customer.preferred_language)
            channel, address = self._channel(s, customer)
            values = {
                "customer_name": customer.display_name,
                "ticket_number": ticket.number,
                "ticket_title": ticket.title,
                "status": self.catalog.status_name(language, row.params.get("status")),
                "old_status": self.catalog.status_name(language, row.params.get("old_status")),
            }
            rendered = self.catalog.render(row.template, channel, language, values)
            s.expunge(row)
        return _Message(channel, language, address, rendered), row

    def _channel(self, s: Session, customer: Customer) -> tuple[NotifyChannel, str]:
        """The customer's preferred channel if it can be used, else the other one."""
        emails = s.scalars(
            select(CustomerEmail.address)
            .where(CustomerEmail.customer_id == customer.id)
            .order_by(CustomerEmail.is_primary.desc(), CustomerEmail.created_at)
        ).all()
        mobiles = s.scalars(
            select(CustomerPhone.e164)
            .where(
                CustomerPhone.customer_id == customer.id,
                CustomerPhone.label == ContactLabel.MOBILE,
                CustomerPhone.e164.is_not(None),
            )
            .order_by(CustomerPhone.is_primary.desc(), CustomerPhone.created_at)
        ).all()
        usable: dict[NotifyChannel, str | None] = {
            "email": emails[0] if emails and self.mailer is not None else None,
            "sms": mobiles[0] if mobiles and self.sms is not None else None,
        }
        order: list[NotifyChannel] = (
            ["sms", "email"] if customer.preferred_channel == "sms" else ["email", "sms"]
        )
        for channel in order:
            address = usable[channel]
            if address:
                return channel, address
        raise _Hold(
            "no way to reach the customer: no e-mail address or mobile number on file "
            "for a configured channel"
        )

    def _deliver(self, row: Notification, message: _Message, now: dt.datetime) -> None:
        if message.channel == "sms":
            assert self.sms is not None
            self.sms.send(message.address, message.rendered.body, str(row.id))
            return
        assert self.mailer is not None
        mail = EmailMessage()
        try:
            mail["From"] = self.from_address
            mail["To"] = message.address
            mail["Subject"] = message.rendered.subject
        except (ValueError, TypeError) as exc:
            raise DeliveryError("the e-mail address on file is not valid", permanent=True) from exc
        mail["Date"] = email.utils.format_datetime(now)
        domain = self.from_address.rpartition("@")[2] or "localhost"
        mail["Message-ID"] = email.utils.make_msgid(idstring=row.id.hex[:16], domain=domain)
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Agentdesk-Notification"] = str(row.id)
        mail.set_content(message.rendered.body)
        mail["Content-Language"] = message.language  # after set_content, which drops Content-*
        self.mailer.send(mail)

    def _retry_later(
        self, nid: uuid.UUID, error: str, when: dt.datetime, message: _Message
    ) -> None:
        with write_session(self.engine) as s:
            s.execute(
                update(Notification)
                .where(Notification.id == nid)
                .values(
                    next_attempt_at=when,
                    last_error=error[:2000],
                    channel=message.channel,
                    language=message.language,
                )
            )

    def _finish(
        self,
        nid: uuid.UUID,
        state: NotificationState,
        reason: str,
        message: _Message | None = None,
    ) -> None:
        values: dict[str, Any] = {"state": state, "last_error": reason[:2000]}
        if message is not None:
            values.update(channel=message.channel, language=message.language)
        with write_session(self.engine) as s:
            s.execute(update(Notification).where(Notification.id == nid).values(**values))

    def _mark_sent(self, row: Notification, message: _Message) -> None:
        """Mark the row sent and file the message on the customer's timeline, atomically."""
        now = self.clock()
        interaction_id = row.interaction_id or uuid7()
        subject = message.rendered.subject or message.rendered.body
        args = {
            "id": str(interaction_id),
            "customer_id": str(row.customer_id),
            "ticket_id": None if row.ticket_id is None else str(row.ticket_id),
            "channel": Channel.EMAIL.value if message.channel == "email" else Channel.SMS.value,
            "direction": Direction.OUTBOUND.value,
            "started_at": now.isoformat(),
            "ended_at": now.isoformat(),
            "subject": subject[:300],
            "notes": message.rendered.body,
            "disposition_code": None,
        }
        feed: list[dict[str, Any]] = []
        with write_session(self.engine) as s:
            s.execute(
                update(Notification)
                .where(Notification.id == row.id)
                .values(
                    state=NotificationState.SENT,
                    sent_at=now,
                    channel=message.channel,
                    language=message.language,
                    interaction_id=interaction_id,
                    last_error=None,
                )
            )
            ctx = MutationContext(
                actor=ACTOR, side="central", now=now, field_cipher=self.store.field_cipher
            )
            try:
                with s.begin_nested():
                    outcome = apply_mutation(s, "interaction.add", args, ctx)
                    s.flush()
                    feed = change_rows(s, outcome.changed)
                    if feed:
                        s.execute(insert(_CHANGES), feed)
            except MutationRejected as exc:
                # Sent, but the timeline refused it (the ticket went meanwhile): keep it sent.
                log.warning("notification %s sent but not filed: %s", row.id, exc)
            if feed and self.store.is_postgres:
                s.execute(
                    text("SELECT pg_notify(:c, :p)"),
                    {"c": NOTIFY_CHANNEL, "p": live.Change.of(feed).payload()},
                )
        if feed and self.store.hub_key is not None:
            live.poke_in_process(self.store.hub_key, live.Change.of(feed))

    # --- 3. supervisors -------------------------------------------------------------------

    def list(
        self, states: Iterable[NotificationState] = (), limit: int = 100
    ) -> list[NotificationView]:
        """Outbox rows, those needing attention (held, then retrying) first, newest first."""
        wanted = list(states)
        stmt = select(Notification, Ticket.number).outerjoin(
            Ticket, Ticket.id == Notification.ticket_id
        )
        if wanted:
            stmt = stmt.where(Notification.state.in_(wanted))
        attention = func.coalesce(func.length(Notification.last_error), 0) > 0
        stmt = stmt.order_by(
            (Notification.state == NotificationState.HELD).desc(),
            and_(Notification.state == NotificationState.PENDING, attention).desc(),
            Notification.created_at.desc(),
        ).limit(max(1, min(limit, 1000)))
        with read_session(self.engine) as s:
            return [
                NotificationView(
                    n.id,
                    n.template,
                    n.category,
                    n.state.value,
                    n.channel,
                    n.language,
                    n.attempts,
                    n.next_attempt_at,
                    n.last_error,
                    n.created_at,
                    n.sent_at,
                    n.customer_id,
                    n.ticket_id,
                    number,
                )
                for n, number in s.execute(stmt).all()
            ]

    def counts(self) -> dict[str, int]:
        with read_session(self.engine) as s:
            rows = s.execute(
                select(Notification.state, func.count()).group_by(Notification.state)
            ).all()
        counts = {state.value: 0 for state in NotificationState}
        counts.update({state.value: int(n) for state, n in rows})
        return counts

    def retry(self, nid: uuid.UUID) -> bool:
        """Send a held row again now, with a fresh set of attempts; False if it is not held."""
        with write_session(self.engine) as s:
            result = s.execute(
                update(Notification)
                .where(Notification.id == nid, Notification.state == NotificationState.HELD)
                .values(state=NotificationState.PENDING, attempts=0, next_attempt_at=self.clock())
            )
            return bool(cast(CursorResult[Any], result).rowcount)
