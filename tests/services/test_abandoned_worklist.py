"""The abandoned-call worklist from hand-made queue records: merged repeats, settled callers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from agentdesk.ids import uuid7
from agentdesk.models import Customer, CustomerHistory, Interaction
from agentdesk.services.crm.merge_moves import carry_flags
from agentdesk.services.supervisor.abandoned import (
    KnownCustomer,
    build_worklist,
    callbacks_since,
    known_customers,
    recorded_intents,
)
from agentdesk.services.supervisor.queue_log import QueueLogRecord
from agentdesk.store import migrate
from agentdesk.store.engine import read_session, sqlite_engine, write_session
from tests.ui_workspace.builders import FIELD_KEYRING, add_customer

START = dt.datetime(2026, 12, 3, 0, 0, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)
T0 = START.timestamp() + 9 * 3600  # 09:00 on the day
AMELIA = "+447700900123"
BEN = "+447700900456"


def rec(at: float, call: str, kind: str, *data: str, queue: str = "cards") -> QueueLogRecord:
    agent = "PJSIP/1001" if kind == "CONNECT" else "NONE"
    return QueueLogRecord(0, T0 + at, call, queue, agent, kind, tuple(data))


def enter(at: float, call: str, number: str, queue: str = "cards") -> QueueLogRecord:
    return rec(at, call, "ENTERQUEUE", "", number, "1", queue=queue)


def abandon(at: float, call: str, wait: int, queue: str = "cards") -> QueueLogRecord:
    return rec(at, call, "ABANDON", "1", "1", str(wait), queue=queue)


def answer(at: float, call: str) -> QueueLogRecord:
    return rec(at, call, "CONNECT", "5", call + "b", "2")


def test_repeat_callers_merge_into_one_row_with_count_first_last_and_longest_wait() -> None:
    records = [
        enter(0, "c1", AMELIA),
        abandon(130, "c1", 130),
        enter(600, "c2", "07700 900123", queue="general"),  # the same caller, national format
        abandon(640, "c2", 40, queue="general"),
        enter(700, "c3", BEN),
        abandon(720, "c3", 20),
    ]
    work = build_worklist(records, START, END)
    assert work.abandoned == 3 and work.settled == 0 and work.withheld == 0
    assert [r.number for r in work.rows] == [BEN, AMELIA]  # the latest abandon first
    amelia = work.rows[1]
    assert amelia.count == 2
    assert amelia.first_at == dt.datetime.fromtimestamp(T0 + 130, dt.UTC)
    assert amelia.last_at == dt.datetime.fromtimestamp(T0 + 640, dt.UTC)
    assert amelia.queue == "general" and amelia.queues == ("cards", "general")
    assert (amelia.wait_s, amelia.longest_wait_s) == (40, 130)
    assert amelia.call_id == "c2" and amelia.display == "+44 7700 900123"


def test_a_caller_answered_later_drops_off_but_a_later_abandon_brings_them_back() -> None:
    records = [
        enter(0, "c1", AMELIA),
        abandon(60, "c1", 60),
        enter(300, "c2", AMELIA),
        answer(320, "c2"),  # called again and got through: c1 is settled
        enter(0, "b1", BEN),
        abandon(30, "b1", 30),
    ]
    work = build_worklist(records, START, END)
    assert [r.number for r in work.rows] == [BEN]
    assert work.settled == 1
    # Hanging up again after the answered call: listed again, with that abandon only.
    work = build_worklist([*records, enter(900, "c3", AMELIA), abandon(950, "c3", 50)], START, END)
    row = next(r for r in work.rows if r.number == AMELIA)
    assert row.count == 1 and row.call_id == "c3"


def test_a_caller_called_back_after_the_abandon_drops_off_a_callback_before_it_does_not() -> None:
    records = [enter(0, "c1", AMELIA), abandon(60, "c1", 60)]
    after = {AMELIA: [dt.datetime.fromtimestamp(T0 + 120, dt.UTC)]}
    assert build_worklist(records, START, END, callbacks=after).rows == []
    before = {AMELIA: [dt.datetime.fromtimestamp(T0 - 3600, dt.UTC)]}
    assert [r.number for r in build_worklist(records, START, END, callbacks=before).rows] == [
        AMELIA
    ]


def test_only_abandons_in_the_period_withheld_numbers_counted_not_listed() -> None:
    records = [
        enter(-86_400, "old", AMELIA),
        abandon(-86_300, "old", 100),  # the day before
        enter(0, "w1", "anonymous"),
        abandon(10, "w1", 10),
        enter(20, "w2", ""),
        abandon(25, "w2", 5),
        abandon(40, "lost", 9),  # its ENTERQUEUE fell before the records read
        rec(50, "t1", "EXITWITHTIMEOUT", "1", "1", "300"),  # not an abandon
    ]
    work = build_worklist(records, START, END)
    assert work.rows == [] and work.abandoned == 3 and work.withheld == 3


def test_wait_from_the_entry_when_the_abandon_has_none_and_truncation_is_counted() -> None:
    records = [enter(0, "c1", AMELIA), rec(75, "c1", "ABANDON", "1", "1", ""), enter(0, "b", BEN),
               abandon(5, "b", 5)]  # fmt: skip
    work = build_worklist(records, START, END, limit=1)
    assert len(work.rows) == 1 and work.truncated == 1
    assert work.rows[0].number == AMELIA and work.rows[0].wait_s == 75


def test_intents_and_customers_are_attached_by_call_and_number() -> None:
    records = [enter(0, "c1", AMELIA), abandon(60, "c1", 60)]
    who = KnownCustomer(uuid7(), "Amelia Okafor", 1)
    work = build_worklist(
        records, START, END, intents={"c1": "card_lost"}, customers=lambda keys: {AMELIA: who}
    )
    assert work.rows[0].intent == "card_lost" and work.rows[0].customer == who


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Engine]:
    engine = sqlite_engine(tmp_path / "central.db")
    migrate.upgrade(engine, field_keyring=FIELD_KEYRING)
    yield engine
    engine.dispose()


def test_known_customers_and_callbacks_from_the_database(central: Engine) -> None:
    amelia = add_customer(central, phone=AMELIA)
    add_customer(central, "Ben", "Twin", phone=BEN, email="b1@example.com")
    add_customer(central, "Bea", "Twin", phone=BEN, email="b2@example.com")
    found = known_customers(central, [AMELIA, BEN, "+447700900999"])
    assert found[AMELIA] == KnownCustomer(amelia, "Amelia Okafor", 1)
    assert found[BEN] == KnownCustomer(None, None, 2)
    assert "+447700900999" not in found
    at = dt.datetime.fromtimestamp(T0 + 120, dt.UTC)
    with central.begin() as conn:
        conn.execute(
            insert(Interaction),
            [
                {"id": uuid7(), "channel": "phone", "direction": "outbound", "started_at": at,
                 "caller_id": "07700 900123", "created_at": at, "linkedid": "x",
                 "ivr_intent": None},
                {"id": uuid7(), "channel": "phone", "direction": "inbound", "started_at": at,
                 "caller_id": BEN, "created_at": at, "linkedid": "b", "ivr_intent": "card_lost"},
            ],
        )  # fmt: skip
    calls = callbacks_since(central, START)
    assert calls == {AMELIA: [at]}
    records = [
        enter(0, "c1", AMELIA),
        abandon(60, "c1", 60),
        enter(0, "b", BEN),
        abandon(9, "b", 9),
    ]
    work = build_worklist(
        records,
        START,
        END,
        callbacks=calls,
        customers=lambda keys: known_customers(central, keys),
        intents=lambda calls: recorded_intents(central, calls),
    )
    assert [(r.number, r.customer) for r in work.rows] == [(BEN, KnownCustomer(None, None, 2))]
    # The desk that the call rang filed the missed call with the IVR's intent.
    assert work.rows[0].intent == "card_lost"
    assert recorded_intents(central, ["c1", "b", "nope"]) == {"b": "card_lost"}


def test_a_merge_keeps_the_duplicates_phone_opt_out_on_the_survivor(central: Engine) -> None:
    keep = add_customer(central, phone=AMELIA)
    dupe = add_customer(central, phone=BEN, email="b@example.com", phone_opt_out=True)
    now = dt.datetime.now(dt.UTC)
    with write_session(central) as session:
        survivor, merged = session.get(Customer, keep), session.get(Customer, dupe)
        assert survivor is not None and merged is not None
        changed = carry_flags(session, survivor, merged, "alice", now)
        assert survivor.phone_opt_out and len(changed) == 1
    with read_session(central) as session:
        fields = session.scalars(
            select(CustomerHistory.field).where(CustomerHistory.customer_id == keep)
        ).all()
    assert fields == ["phone_opt_out"]
