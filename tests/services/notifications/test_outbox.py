"""Customer notifications end to end: ticket events → outbox → a real SMTP server / SMS → timeline.

Runs on SQLite and PostgreSQL; e-mail goes to aiosmtpd on loopback and is read
back as delivered.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import pytest
from sqlalchemy import select

from agentdesk.models import Channel, Direction, Interaction, Notification, NotificationState
from agentdesk.services.notifications.outbox import MAX_ATTEMPTS
from agentdesk.store.engine import read_session
from tests.services.notifications.conftest import Mailbox, Relay, World, free_port


def rows(world: World) -> list[Notification]:
    with read_session(world.engine) as s:
        return list(s.scalars(select(Notification).order_by(Notification.created_at)).all())


def timeline(world: World, customer: uuid.UUID) -> list[Interaction]:
    with read_session(world.engine) as s:
        return list(s.scalars(select(Interaction).where(Interaction.customer_id == customer)).all())


def test_created_ticket_mails_the_customer_in_german_and_files_it(
    world: World, relay: Relay
) -> None:
    service = world.service(relay.settings())
    customer = world.customer(preferred_language="de", preferred_channel="email")
    ticket = world.ticket(customer)
    assert service.intake() == 1
    assert service.intake() == 0  # the cursor moved: queued once
    assert service.dispatch() == 1
    [mail] = relay.mailbox.messages
    assert mail["To"] == "Ada@Example.org"
    assert mail["From"] == "service@bank.example"
    assert mail["Content-Language"] == "de"
    assert mail["Subject"].startswith("Wir haben Ihr Anliegen T-")
    body = mail.get_content()
    assert "Guten Tag Ada Lovelace" in body
    [row] = rows(world)
    assert row.state is NotificationState.SENT
    assert (row.channel, row.language, row.attempts) == ("email", "de", 1)
    assert mail["X-Agentdesk-Notification"] == str(row.id)
    [contact] = timeline(world, customer)
    assert contact.id == row.interaction_id
    assert (contact.channel, contact.direction) == (Channel.EMAIL, Direction.OUTBOUND)
    assert contact.ticket_id == ticket
    assert contact.subject == mail["Subject"]
    # The timeline entry is on the change feed like any contact, so desktops receive it.
    head = world.store.pull(world.store.floor(), 1000)
    assert any(r.entity_type == "interaction" and r.entity_id == contact.id for r in head)
    assert service.dispatch() == 0


def test_starttls_relay_gets_the_message_encrypted(world: World, tls_relay: Relay) -> None:
    service = world.service(tls_relay.settings())
    world.ticket(world.customer())
    service.intake()
    assert service.dispatch() == 1
    [mail] = tls_relay.mailbox.messages
    assert mail["X-Was-TLS"] == "yes"
    assert mail["Content-Language"] == "en"
    assert mail["Subject"].startswith("We have received your request T-")


def test_starttls_required_but_not_offered_is_not_sent_in_clear(world: World, relay: Relay) -> None:
    service = world.service(relay.settings(security="starttls"))
    world.ticket(world.customer())
    service.intake()
    assert service.dispatch() == 0
    assert relay.mailbox.messages == []
    [row] = rows(world)
    assert row.state is NotificationState.PENDING
    assert row.last_error is not None and "STARTTLS" in row.last_error


def test_unreachable_relay_retries_with_back_off_then_delivers(world: World) -> None:
    relay = Relay("127.0.0.1", free_port(), Mailbox(), None)  # nothing listens yet
    service = world.service(relay.settings())
    world.ticket(world.customer())
    service.intake()
    assert service.dispatch() == 0
    [row] = rows(world)
    assert row.state is NotificationState.PENDING and row.attempts == 1
    assert row.last_error is not None and "unreachable" in row.last_error
    assert row.next_attempt_at == world.clock() + dt.timedelta(minutes=1)
    world.clock.advance(dt.timedelta(seconds=59))
    assert service.dispatch() == 0 and rows(world)[0].attempts == 1  # backing off
    world.clock.advance(dt.timedelta(seconds=1))
    assert service.dispatch() == 0
    assert rows(world)[0].next_attempt_at == world.clock() + dt.timedelta(minutes=2)
    relay.start()
    try:
        world.clock.advance(dt.timedelta(minutes=2))
        assert service.dispatch() == 1
        assert len(relay.mailbox.messages) == 1
        assert rows(world)[0].state is NotificationState.SENT
    finally:
        relay.stop()


def test_relay_down_too_long_is_held_for_supervisors_and_sent_on_retry(world: World) -> None:
    relay = Relay("127.0.0.1", free_port(), Mailbox(), None)
    service = world.service(relay.settings(), max_attempts=3)
    world.ticket(world.customer())
    service.intake()
    for _ in range(3):
        service.dispatch()
        world.clock.advance(dt.timedelta(hours=1))
    [row] = rows(world)
    assert row.state is NotificationState.HELD
    assert row.last_error is not None and row.last_error.startswith("gave up after 3 attempts")
    assert service.counts()["held"] == 1
    [view] = service.list([NotificationState.HELD])
    assert view.id == row.id and view.ticket_number is not None
    relay.start()
    try:
        assert service.retry(row.id)
        assert not service.retry(row.id)  # only a held row
        assert service.dispatch() == 1
        assert len(relay.mailbox.messages) == 1
    finally:
        relay.stop()


def test_bounced_address_is_held_at_once(world: World, relay: Relay) -> None:
    relay.mailbox.refuse.add("ada@example.org")
    service = world.service(relay.settings())
    world.ticket(world.customer())
    service.intake()
    assert service.dispatch() == 0
    [row] = rows(world)
    assert row.state is NotificationState.HELD and row.attempts == 1
    assert row.last_error == "the relay refused the recipient (SMTP 550)"


def test_sms_by_preference_through_the_gateway_with_retries(world: World, relay: Relay) -> None:
    service = world.service(relay.settings())
    customer = world.customer(preferred_channel="sms")
    world.ticket(customer)
    service.intake()
    world.sms.fail_next(1)
    assert service.dispatch() == 0
    world.clock.advance(dt.timedelta(minutes=1))
    assert service.dispatch() == 1
    [sms] = world.sms.sent
    assert sms.to == "+447700900123"
    assert sms.text.startswith("We have received your request T-")
    assert relay.mailbox.messages == []
    [contact] = timeline(world, customer)
    assert contact.channel is Channel.SMS and contact.notes == sms.text


def test_no_reachable_channel_is_held(world: World) -> None:
    service = world.service(None)  # no SMTP relay configured
    world.ticket(world.customer(phones=[]))
    service.intake()
    service.dispatch()
    [row] = rows(world)
    assert row.state is NotificationState.HELD
    assert row.last_error is not None and row.last_error.startswith("no way to reach")


@pytest.mark.parametrize("opted_out", [False, True])
def test_resolution_is_a_service_message_the_survey_is_marketing(
    world: World, relay: Relay, opted_out: bool
) -> None:
    service = world.service(relay.settings())
    customer = world.customer(marketing_opt_out=opted_out)
    ticket = world.ticket(customer)
    world.status(ticket, "open")  # not a status that notifies
    world.status(ticket, "resolved")
    assert service.intake() == 3  # created, resolved, survey
    service.dispatch()
    subjects = sorted(m["Subject"] for m in relay.mailbox.messages)
    states = {r.template: r.state for r in rows(world)}
    assert states["ticket_created"] is NotificationState.SENT
    assert states["ticket_resolved"] is NotificationState.SENT
    if opted_out:
        assert states["resolved_survey"] is NotificationState.SUPPRESSED
        assert len(subjects) == 2
    else:
        assert states["resolved_survey"] is NotificationState.SENT
        assert "How did we do?" in subjects
    assert len(timeline(world, customer)) == len(subjects)


def test_status_change_names_both_statuses_in_the_customer_language(
    world: World, relay: Relay
) -> None:
    service = world.service(relay.settings())
    ticket = world.ticket(world.customer(preferred_language="de-AT"))
    world.status(ticket, "pending")
    service.intake()
    service.dispatch()
    pending = [m for m in relay.mailbox.messages if "in Erwartung" in m["Subject"]]
    assert len(pending) == 1
    assert "(bisher: eingegangen)" in pending[0].get_content()


def test_event_before_the_service_started_is_not_notified_history_is_not_replayed(
    world: World, relay: Relay
) -> None:
    world.ticket(world.customer())
    service = world.service(relay.settings())
    assert service.intake() == 0


def test_no_personal_data_in_logs(
    world: World, relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentdesk")
    relay.mailbox.refuse.add("ada@example.org")
    service = world.service(relay.settings())
    world.ticket(world.customer())
    world.ticket(world.customer(preferred_channel="sms", emails=[]))
    world.sms.fail_next(1)
    service.intake()
    service.dispatch()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "notification" in text
    for secret in ("Ada", "Lovelace", "example.org", "7700", "We have received"):
        assert secret.lower() not in text.lower()


def test_gives_up_after_max_attempts_by_default() -> None:
    assert MAX_ATTEMPTS == 10
