"""The abandoned-call worklist: who hung up waiting and was not reached since (issue 15 item 4).

Built from the server's queue records (``queue_record``, the queue_log twins
the wallboard counts): an ``ABANDON`` names its call, and the call's
``ENTERQUEUE`` carries the caller's number (its second data field), so no new
column is needed. One row per caller number:

- **repeat callers are merged**: every abandon of the same number (normalised
  to E.164 where it parses, so ``07700 900123`` and ``+447700900123`` are one
  caller) is one row with the count, first and last time, the queues and the
  longest wait;
- **a caller already reached drops off**: when the same number called again
  and was answered (a later ``CONNECT``), or an agent called it back (an
  outbound phone interaction to it, a callback reminder for it marked done, or
  a team's callback ticket for it resolved), after an abandon, that abandon is
  settled.
  A row keeps only the abandons after the latest such contact; a row with none
  left is not listed;
- **the known customer** is looked up by the number (``customer_phone.e164``):
  named when exactly one live customer has it, "N customers" otherwise, and
  flagged when one of them asked not to be phoned (``phone_opt_out``: the row
  stays listed, so the supervisor sees who called, but no callback is made);
- **an open callback task** (a reminder not yet done, a ticket not yet
  resolved, as ``abandoned_callback`` writes them) names who holds it, read
  from the database on every load, so the marker survives a restart.

IVR intent: the queue records do not carry it. When the call rang a desk
before the caller hung up, that desk filed a missed-call interaction with the
IVR's ``ivr_intent`` under the call's ``linkedid`` (the caller channel's
uniqueid, the queue record's call id): :func:`recorded_intents` reads those.
A caller who hung up before any desk rang has no intent on record (``None``).

Withheld or unreadable numbers cannot be called back; they are counted in
:attr:`Worklist.withheld` rather than listed. Nothing here logs a number.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from agentdesk.models import (
    Agent,
    Customer,
    CustomerPhone,
    Interaction,
    Reminder,
    ReminderState,
    Team,
    Ticket,
    TicketHistory,
    TicketStatus,
)
from agentdesk.models.enums import Channel, Direction
from agentdesk.services.crm.phone import normalise
from agentdesk.services.supervisor.queue_log import QueueLogRecord
from agentdesk.store.engine import read_session

CALLBACK_PREFIX = "Call back "  # how a callback task's text starts (abandoned_callback.py)
MAX_ROWS = 2_000  # a worklist longer than this is not a worklist; the rest is counted


@dataclass(frozen=True)
class KnownCustomer:
    """Who the number belongs to: one customer, or how many share it."""

    id: uuid.UUID | None
    name: str | None
    matches: int
    phone_opt_out: bool = False  # (one of) them asked not to be phoned: no callback


@dataclass(frozen=True)
class AbandonedRow:
    """One caller to call back: all their unsettled abandons in the period, merged."""

    number: str  # E.164 where it parses, the raw caller ID otherwise
    display: str  # the number as a supervisor reads it
    queue: str  # the queue of the latest abandon
    queues: tuple[str, ...]  # every queue they abandoned in, first seen first
    wait_s: int  # the wait of the latest abandon
    longest_wait_s: int
    first_at: dt.datetime
    last_at: dt.datetime
    count: int
    call_id: str  # the latest abandoned call
    intent: str | None = None
    customer: KnownCustomer | None = None
    task: str | None = None  # who holds an open callback task for the number ("Bob")

    @property
    def opted_out(self) -> bool:
        """A customer with this number asked not to be phoned: nobody may call back."""
        return self.customer is not None and self.customer.phone_opt_out


@dataclass
class Worklist:
    """The rows, most recent abandon first, with what was left out and why."""

    rows: list[AbandonedRow] = field(default_factory=list)
    abandoned: int = 0  # abandons in the period
    settled: int = 0  # of those, callers reached since (answered later or called back)
    withheld: int = 0  # abandons with no number to call back
    truncated: int = 0  # rows beyond MAX_ROWS


@dataclass
class _Caller:
    # at, queue, call id, wait (s) of each abandon, in the order counted
    abandons: list[tuple[float, str, str, int]] = field(default_factory=list)
    reached: float = float("-inf")  # the latest answered call or callback


def _key(raw: str, region: str) -> str | None:
    """The number a caller is known by: E.164 where it parses, else the raw text (or None)."""
    number = normalise(raw, region)
    if number.lookup_key:
        return number.lookup_key
    text = raw.strip()
    if not text or number.status.value in ("withheld", "invalid"):
        return None
    return text


def _tail(raw: str) -> str:
    """The last 7 digits of a caller ID: the same number in any format has the same tail."""
    return "".join(ch for ch in raw if ch.isdigit())[-7:]


def _wait(record: QueueLogRecord, entered: float | None) -> int:
    waited = record.int_field("waittime")
    if waited is None and entered is not None:
        waited = int(record.timestamp - entered)
    return max(0, waited or 0)


def build_worklist(
    records: Iterable[QueueLogRecord],
    start: dt.datetime,
    end: dt.datetime,
    *,
    callbacks: Mapping[str, Sequence[dt.datetime]] | None = None,
    customers: Callable[[Sequence[str]], Mapping[str, KnownCustomer]] | None = None,
    intents: Mapping[str, str] | Callable[[Sequence[str]], Mapping[str, str]] | None = None,
    tasks: Mapping[str, str] | None = None,
    region: str = "GB",
    limit: int = MAX_ROWS,
) -> Worklist:
    """The worklist of abandons in [start, end) from ``records`` (in the order counted).

    ``records`` should begin some hours before ``start`` (so a call queued before the
    period has its ``ENTERQUEUE``) and run to now (so answers and callbacks after
    ``end`` settle earlier abandons). ``callbacks`` maps a number's key to the times
    it was called back; ``customers`` resolves keys to known customers; ``tasks`` maps
    a key to who holds an open callback task for it.
    """
    lo, hi = start.timestamp(), end.timestamp()
    entered: dict[tuple[str, str], tuple[float, str]] = {}  # (call, queue) -> at, caller
    numbers: dict[str, str] = {}  # call id -> caller as the ENTERQUEUE gave it
    callers: dict[str, _Caller] = {}
    keys: dict[str, str | None] = {}  # raw caller ID -> key (parsing is slow)

    def key_of(raw: str) -> str | None:
        if raw not in keys:
            keys[raw] = _key(raw, region)
        return keys[raw]

    out = Worklist()
    answered: list[tuple[float, str]] = []  # (at, raw caller ID) of each answered call
    for record in records:
        kind, call, queue = record.event, record.call_id, record.queue
        if kind == "ENTERQUEUE":
            raw = record.field("callerid") or ""
            entered[(call, queue)] = (record.timestamp, raw)
            numbers[call] = raw
        elif kind == "CONNECT":
            answered.append((record.timestamp, numbers.get(call, "")))
        elif kind == "ABANDON" and lo <= record.timestamp < hi:
            out.abandoned += 1
            at_entry = entered.get((call, queue))
            key = key_of(at_entry[1] if at_entry else numbers.get(call, ""))
            if key is None:
                out.withheld += 1
                continue
            caller = callers.setdefault(key, _Caller())
            wait = _wait(record, at_entry[0] if at_entry else None)
            caller.abandons.append((record.timestamp, queue, call, wait))
    # Only answered calls that may be from an abandoned caller are parsed (parsing a number
    # costs ~0.1 ms): those whose last digits match one of theirs.
    tails = {_tail(raw) for raw, key in keys.items() if key is not None}
    for at, raw in answered:
        if _tail(raw) in tails:
            key = key_of(raw)
            caller_ = callers.get(key) if key is not None else None
            if caller_ is not None:
                caller_.reached = max(caller_.reached, at)
    for number, caller in callers.items():
        for when in (callbacks or {}).get(number, ()):
            caller.reached = max(caller.reached, when.timestamp())
    pending: list[tuple[str, _Caller, list[tuple[float, str, str, int]]]] = []
    for number, caller in callers.items():
        open_ = [a for a in caller.abandons if a[0] > caller.reached]
        out.settled += len(caller.abandons) - len(open_)
        if open_:
            pending.append((number, caller, open_))
    pending.sort(key=lambda item: item[2][-1][0], reverse=True)
    out.truncated = max(0, len(pending) - limit)
    pending = pending[:limit]
    known = customers([number for number, _, _ in pending]) if customers and pending else {}
    if callable(intents):
        intents = intents([open_[-1][2] for _, _, open_ in pending]) if pending else {}
    tz = start.tzinfo or dt.UTC
    for number, _caller, open_ in pending:
        last = open_[-1]
        out.rows.append(
            AbandonedRow(
                number=number,
                display=normalise(number, region).display,
                queue=last[1],
                queues=tuple(dict.fromkeys(a[1] for a in open_)),
                wait_s=last[3],
                longest_wait_s=max(a[3] for a in open_),
                first_at=dt.datetime.fromtimestamp(open_[0][0], tz),
                last_at=dt.datetime.fromtimestamp(last[0], tz),
                count=len(open_),
                call_id=last[2],
                intent=(intents or {}).get(last[2]),
                customer=known.get(number),
                task=(tasks or {}).get(number),
            )
        )
    return out


# --- reading the central database -------------------------------------------------------------


def known_customers(engine: Engine, keys: Sequence[str]) -> dict[str, KnownCustomer]:
    """Live customers by E.164 number: the one customer, or how many share the number."""
    found: dict[str, list[tuple[uuid.UUID, str]]] = {}
    opted_out: set[str] = set()
    with read_session(engine) as session:
        for chunk in range(0, len(keys), 500):
            rows = session.execute(
                select(
                    CustomerPhone.e164, Customer.id, Customer.display_name, Customer.phone_opt_out
                )
                .join(Customer, Customer.id == CustomerPhone.customer_id)
                .where(CustomerPhone.e164.in_(keys[chunk : chunk + 500]))
                .where(Customer.deleted_at.is_(None))
            )
            for e164, cid, name, no_calls in rows:
                if e164 is None:
                    continue
                if no_calls:
                    opted_out.add(e164)
                people = found.setdefault(e164, [])
                if all(cid != seen for seen, _ in people):
                    people.append((cid, name))
    return {
        key: KnownCustomer(people[0][0], people[0][1], 1, key in opted_out)
        if len(people) == 1
        else KnownCustomer(None, None, len(people), key in opted_out)
        for key, people in found.items()
    }


def recorded_intents(engine: Engine, call_ids: Sequence[str]) -> dict[str, str]:
    """The IVR intent the desks filed for these calls (by linkedid), where one was."""
    found: dict[str, str] = {}
    with read_session(engine) as session:
        for chunk in range(0, len(call_ids), 500):
            rows = session.execute(
                select(Interaction.linkedid, Interaction.ivr_intent).where(
                    Interaction.linkedid.in_(call_ids[chunk : chunk + 500]),
                    Interaction.ivr_intent.is_not(None),
                )
            )
            for linkedid, intent in rows:
                if linkedid and intent:
                    found[linkedid] = intent
    return found


def callbacks_since(
    engine: Engine, since: dt.datetime, region: str = "GB"
) -> dict[str, list[dt.datetime]]:
    """Callbacks at or after ``since``, by the called number's key: outbound phone calls
    filed with the number, callback reminders the agent marked done (their note is
    ``Call back <number> (…)``, as ``abandoned_callback.callback_text`` writes it), and
    callback tickets (the same words as title) resolved or closed."""
    out: dict[str, list[dt.datetime]] = {}
    done = select(Reminder.note, Reminder.done_at).where(
        Reminder.state == ReminderState.DONE.value,
        Reminder.done_at >= since.astimezone(dt.UTC),
        Reminder.note.startswith(CALLBACK_PREFIX),
    )
    resolved = (
        select(Ticket.title, TicketHistory.changed_at)
        .join(TicketHistory, TicketHistory.ticket_id == Ticket.id)
        .where(
            Ticket.title.startswith(CALLBACK_PREFIX),
            TicketHistory.field == "status",
            TicketHistory.new_value.in_((TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)),
            TicketHistory.changed_at >= since.astimezone(dt.UTC),
        )
    )
    query = select(Interaction.caller_id, Interaction.started_at).where(
        Interaction.channel == Channel.PHONE,
        Interaction.direction == Direction.OUTBOUND,
        Interaction.started_at >= since.astimezone(dt.UTC),
        Interaction.caller_id.is_not(None),
    )
    with read_session(engine) as session:
        for number, started in session.execute(query):
            key = _key(number or "", region)
            if key is None:
                continue
            moment = started if started.tzinfo else started.replace(tzinfo=dt.UTC)
            out.setdefault(key, []).append(moment)
        for note, done_at in session.execute(done):
            key = _key(task_number(note), region)
            if key is not None and done_at is not None:
                out.setdefault(key, []).append(_aware(done_at))
        for title, changed_at in session.execute(resolved):
            key = _key(task_number(title), region)
            if key is not None:
                out.setdefault(key, []).append(_aware(changed_at))
    return out


def open_tasks(engine: Engine, since: dt.datetime, region: str = "GB") -> dict[str, str]:
    """Who holds an open callback task set at or after ``since``, by the number's key: the
    agent of a reminder not done yet, or the team (and assignee) of a ticket not yet
    resolved. The latest task wins when there are several."""
    after = since.astimezone(dt.UTC)
    reminders = (
        select(Reminder.note, Agent.display_name, Reminder.created_at)
        .join(Agent, Agent.id == Reminder.agent_id)
        .where(
            Reminder.state.in_((ReminderState.PENDING.value, ReminderState.DUE.value)),
            Reminder.created_at >= after,
            Reminder.note.startswith(CALLBACK_PREFIX),
        )
    )
    tickets = (
        select(Ticket.title, Agent.display_name, Team.name, Ticket.created_at)
        .outerjoin(Agent, Agent.id == Ticket.assignee_id)
        .outerjoin(Team, Team.id == Ticket.team_id)
        .where(
            Ticket.status.not_in((TicketStatus.RESOLVED, TicketStatus.CLOSED)),
            Ticket.deleted_at.is_(None),
            Ticket.created_at >= after,
            Ticket.title.startswith(CALLBACK_PREFIX),
        )
    )
    found: list[tuple[dt.datetime, str, str]] = []  # created, key, holder
    with read_session(engine) as session:
        for note, agent, created in session.execute(reminders):
            key = _key(task_number(note), region)
            if key is not None:
                found.append((_aware(created), key, agent))
        for title, assignee, team, created in session.execute(tickets):
            key = _key(task_number(title), region)
            if key is not None:
                holder = f"{team} ({assignee})" if team and assignee else team or assignee
                found.append((_aware(created), key, holder or "a team"))
    return {key: holder for _, key, holder in sorted(found)}


def task_number(text: str | None) -> str:
    """The number in a callback task's words (``Call back <number> (…)``), or ""."""
    if not text or not text.startswith(CALLBACK_PREFIX):
        return ""
    return text[len(CALLBACK_PREFIX) :].split(" (", 1)[0]


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
