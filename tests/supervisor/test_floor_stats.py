"""Pop latency per workstation and breached tickets, on embedded SQLite and real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from agentdesk.models import CallRecord, Ticket, TicketStatus
from agentdesk.services.supervisor.floor_stats import (
    DatabaseFloorReads,
    breached_tickets,
    pop_latency_by_workstation,
)
from agentdesk.services.supervisor.service import SupervisorService
from agentdesk.store.writer import LocalWriter
from tests.supervisor.conftest import FakeSession
from tests.supervisor.simfloor import settings

UTC = dt.UTC
DAY = dt.date(2026, 11, 23)
BERLIN = dt.timezone(dt.timedelta(hours=1))


def _call(workstation: str | None, ms: float | None, at: dt.datetime) -> CallRecord:
    return CallRecord(id=uuid.uuid4(), linkedid=str(uuid.uuid4()), workstation=workstation,
                      pop_latency_ms=ms, offered_at=at)  # fmt: skip


def test_pop_latency_p50_p95_per_workstation_for_the_local_day(central: Engine) -> None:
    morning = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rows = [_call("ws-1", float(ms), morning) for ms in range(1, 21)]  # 1..20 ms
    rows += [_call("ws-2", 40.0, morning), _call("ws-2", 60.0, morning)]
    rows += [_call(None, 7.0, morning), _call("ws-1", None, morning)]  # unknown ws; no figure
    rows += [_call("ws-1", 999.0, dt.datetime(2026, 11, 22, 23, 30, tzinfo=UTC))]  # Berlin: today
    rows += [
        _call("ws-1", 999.0, dt.datetime(2026, 11, 23, 23, 30, tzinfo=UTC))
    ]  # Berlin: tomorrow
    with Session(central) as session:
        session.add_all(rows)
        session.commit()
    stats = {s.workstation: s for s in pop_latency_by_workstation(central, DAY, BERLIN)}
    assert set(stats) == {"ws-1", "ws-2", "(unknown)"}
    ws1 = stats["ws-1"]
    assert (ws1.calls, ws1.p50_ms, ws1.p95_ms, ws1.max_ms) == (21, 11.0, 20.0, 999.0)
    assert (stats["ws-2"].p50_ms, stats["ws-2"].p95_ms) == (40.0, 60.0)
    assert pop_latency_by_workstation(central, dt.date(2026, 1, 1), BERLIN) == ()


def _ticket(number: str, status: TicketStatus, **due: dt.datetime | None) -> Ticket:
    return Ticket(id=uuid.uuid4(), number=number, reason="general", title="t", status=status,
                  **due)  # fmt: skip


def test_breached_tickets_counts_open_overdue_ones_most_overdue_first(central: Engine) -> None:
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    hour = dt.timedelta(hours=1)
    tickets = [
        _ticket("T-1", TicketStatus.OPEN, resolution_due=now - hour),
        _ticket("T-2", TicketStatus.NEW, first_response_due=now - 3 * hour,
                resolution_due=now + hour),
        _ticket("T-3", TicketStatus.OPEN, first_response_due=now - hour,
                first_responded_at=now - 2 * hour, resolution_due=now + hour),  # answered in time
        _ticket("T-4", TicketStatus.RESOLVED, resolution_due=now - hour),
        _ticket("T-5", TicketStatus.OPEN, resolution_due=now + hour),
        _ticket("T-6", TicketStatus.PENDING, resolution_due=now - hour,
                deleted_at=now - hour),
    ]  # fmt: skip
    with Session(central) as session:
        session.add_all(tickets)
        session.commit()
    found = breached_tickets(central, now)
    assert found.count == 2
    assert found.oldest == ("T-2", "T-1")


def test_the_service_reads_latency_for_today_by_its_clock(
    central: Engine, supervisor: FakeSession, audit: LocalWriter
) -> None:
    morning = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with Session(central) as session:
        session.add(_call("ws-9", 12.5, morning))
        session.commit()
    svc = SupervisorService(
        supervisor,
        settings(tz=UTC),
        audit=audit,
        floor=DatabaseFloorReads(central),
        clock=lambda: morning.timestamp() + 3600,
    )
    assert [(s.workstation, s.p50_ms) for s in svc.pop_latency()] == [("ws-9", 12.5)]
    assert svc.check_tickets().count == 0


@pytest.mark.parametrize("day", [dt.date(2026, 11, 23)])
def test_without_a_central_store_there_is_nothing_to_show(
    day: dt.date, supervisor: FakeSession, audit: LocalWriter
) -> None:
    svc = SupervisorService(supervisor, settings(), audit=audit)
    assert svc.pop_latency(day) == () and svc.check_tickets().count == 0
