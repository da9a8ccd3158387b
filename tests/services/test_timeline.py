"""Timeline service: keyset pages newest-first across interactions and ticket events."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agentdesk.ids import uuid7
from agentdesk.services.crm.timeline import TimelineFilter, TimelineService
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from agentdesk.store.writer import LocalWriter
from tests.ui_workspace.builders import BASE_TIME, add_customer, add_interactions, add_org


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = sqlite_engine(tmp_path / "cache.db")
    migrate.upgrade(engine)
    return engine


def _all(service: TimelineService, cid: object, flt: TimelineFilter, limit: int) -> list:
    entries, cursor = [], None
    while True:
        page = service.page(cid, flt, cursor, limit)  # type: ignore[arg-type]
        entries += page.entries
        if page.next_cursor is None:
            return entries
        cursor = page.next_cursor


def test_pages_cover_everything_once_newest_first(central: Engine) -> None:
    org = add_org(central)
    cid = add_customer(central)
    add_interactions(central, cid, 1000, [org.agent_id])
    writer = LocalWriter(central, "alice")
    ticket_id = uuid7()
    writer.write(
        "ticket.create",
        {"id": ticket_id, "reason": "card_lost", "title": "Lost card", "customer_id": cid},
    )
    writer.write("ticket.comment", {"id": uuid7(), "ticket_id": ticket_id, "body": "Card blocked"})
    service = TimelineService(central)
    entries = _all(service, cid, TimelineFilter(), 97)
    assert len(entries) == 1002 and len({e.key for e in entries}) == 1002
    assert entries == sorted(entries, key=lambda e: e.cursor, reverse=True)
    assert entries[0].kind == "ticket_event"  # created just now: newer than the history
    assert entries[-1].summary.startswith("Contact #1 ")
    back, cursor = [], entries[-1].cursor  # walk back up with page_newer, as a trimmed window does
    while cursor is not None:
        newer = service.page_newer(cid, TimelineFilter(), cursor, 89)
        back = list(newer.entries) + back
        cursor = newer.next_cursor
    assert back == entries[:-1]
    first = next(e for e in entries if e.kind == "interaction")
    assert first.agent == "Alice Agent" and first.duration_seconds and first.disposition


def test_filters_by_channel_date_and_text(engine: Engine) -> None:
    cid = add_customer(engine)
    add_interactions(engine, cid, 800)
    service = TimelineService(engine)
    emails = _all(service, cid, TimelineFilter(channels=frozenset({"email"})), 50)
    assert len(emails) == 100 and {e.channel for e in emails} == {"email"}
    day = TimelineFilter(since=BASE_TIME - dt.timedelta(days=1), until=BASE_TIME)
    in_day = _all(service, cid, day, 50)
    assert all(day.since <= e.at < day.until for e in in_day) and 200 <= len(in_day) <= 206
    text = _all(service, cid, TimelineFilter(text="item 77."), 50)
    assert [e.notes_preview for e in text] == [
        "Customer asked about item 77. Explained the options; agreed next steps."
    ]
    assert _all(service, cid, TimelineFilter(text="100%_"), 50) == []


def test_first_page_of_a_huge_history_is_as_fast_as_a_small_one(engine: Engine) -> None:
    big, small = add_customer(engine), add_customer(engine, "Ten", "Contacts")
    add_interactions(engine, big, 100_000)
    add_interactions(engine, small, 10)
    service = TimelineService(engine)

    def first_page_ms(cid: object) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            service.page(cid, TimelineFilter(), None, 100)  # type: ignore[arg-type]
            best = min(best, (time.perf_counter() - started) * 1000)
        return best

    assert first_page_ms(big) < max(5 * first_page_ms(small), 25.0)


def test_notes_of_a_megabyte_in_any_script_are_previewed_and_detailed(engine: Engine) -> None:
    cid = add_customer(engine)
    service = TimelineService(engine, LocalWriter(engine, "alice"))
    notes = ("Ünïcödé ✓ مرحبا שלום 你好 👩🏽‍💻\n" * 40_000)[:1_000_000]
    iid = service.log_contact(cid, "branch", "inbound", notes, subject="Branch visit, Leeds")
    note_id = service.add_note(cid, "Prefers e-mail contact", None)
    page = service.page(cid)
    assert [e.source_id for e in page.entries] == [note_id, iid]
    entry = page.entries[1]
    assert entry.notes_length == 1_000_000 and len(entry.notes_preview) <= 240
    assert "\n" not in entry.notes_preview and entry.summary == "Branch visit, Leeds"
    assert service.detail(iid).notes == notes
    with pytest.raises(ValueError):
        service.add_note(cid, "   ", None)


def test_count_and_pages_at_an_offset_agree_with_the_keyset_walk(central: Engine) -> None:
    from sqlalchemy import update

    from agentdesk.models import TicketComment

    org = add_org(central)
    cid = add_customer(central)
    add_interactions(central, cid, 300, [org.agent_id])
    writer = LocalWriter(central, "alice")
    ticket_id = uuid7()
    writer.write(
        "ticket.create",
        {"id": ticket_id, "reason": "card_lost", "title": "Lost card", "customer_id": cid},
    )
    # Comments among the interactions, at the same instant as one, and older than them all.
    for at in (BASE_TIME - dt.timedelta(minutes=7 * 100 + 3), BASE_TIME - dt.timedelta(minutes=700),
               BASE_TIME - dt.timedelta(days=30)):  # fmt: skip
        comment = uuid7()
        writer.write("ticket.comment", {"id": comment, "ticket_id": ticket_id, "body": "Noted"})
        with central.begin() as conn:
            conn.execute(
                update(TicketComment).where(TicketComment.id == comment).values(created_at=at)
            )
    service = TimelineService(central)
    for flt in (TimelineFilter(), TimelineFilter(channels=frozenset({"ticket", "email"}))):
        walked = _all(service, cid, flt, 97)
        assert service.count(cid, flt) == len(walked)
        for offset in (0, 1, 98, 99, 100, 101, 150, len(walked) - 5, len(walked) - 1):
            page = service.page_at(cid, flt, offset, 7)
            assert list(page.entries) == walked[offset : offset + 7], (flt, offset)
        assert service.page_at(cid, flt, len(walked), 7).entries == ()
    assert service.count(cid, TimelineFilter(text="item 77.")) == 1
