"""The scheduler inside the running server: started by the lifespan, e-mail out, supervisor API."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from agentdesk.client.api import ServerApi, ServerRefused
from agentdesk.config import ConfigError
from agentdesk.models import Agent, Role
from agentdesk.server.app import build_context, create_app
from agentdesk.server.run import ServerThread
from agentdesk.server.scheduler import SchedulerSettings
from agentdesk.server.settings import ListenSettings, ServerSettings, load_server_settings
from agentdesk.services.platform.auth import hash_password
from agentdesk.store.engine import write_session
from tests.services.notifications.conftest import Mailbox, Relay, free_port
from tests.sync.factories import REF, person, seed_reference, ticket
from tests.ui_workspace.builders import FIELD_KEYRING

PASSWORD = "correct horse"


def wait_for(what: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_lifespan_runs_the_scheduler_and_supervisors_see_the_outbox(central: Engine) -> None:
    seed_reference(central)
    with write_session(central) as s:
        s.execute(update(Agent).values(password_hash=hash_password(PASSWORD)))
        s.execute(update(Agent).where(Agent.id == REF.alice).values(role=Role.SUPERVISOR))
        s.execute(update(Agent).where(Agent.id == REF.bob).values(role=Role.AGENT))
    relay = Relay("127.0.0.1", free_port(), Mailbox(), None)
    relay.start()
    relay.mailbox.refuse.add("bounce@example.org")
    settings = ServerSettings(
        scheduler=SchedulerSettings(site="test", tick_seconds=0.1, lease_seconds=5),
        smtp=relay.settings(),
    )
    ctx = build_context(central, settings, cipher=FIELD_KEYRING)
    assert ctx.scheduler is not None and ctx.scheduler.notifications is not None
    thread = ServerThread(create_app(ctx), ListenSettings(host="127.0.0.1", port=0))
    url = thread.start()
    api = ServerApi(url)
    try:
        wait_for(lambda: ctx.scheduler is not None and ctx.scheduler.is_leader)
        good, bad = (
            person(),
            person(emails=[{"label": "personal", "address": "bounce@example.org"}]),
        )
        for customer in (good, bad):
            ctx.store.write("customer.create", customer, "alice")
            ctx.store.write("ticket.create", ticket(customer_id=customer["id"]), "alice")
        wait_for(lambda: len(relay.mailbox.messages) == 1)
        wait_for(lambda: ctx.scheduler.notifications.counts()["held"] == 1)  # type: ignore[union-attr]

        api.sign_in("bob", PASSWORD, "ws-bob")
        with pytest.raises(ServerRefused) as refused:
            api.request("GET", "/supervisor/notifications")
        assert refused.value.status == 403

        api.sign_in("alice", PASSWORD, "ws-alice")
        listing = api.request("GET", "/supervisor/notifications")
        assert listing["counts"]["sent"] == 1 and listing["counts"]["held"] == 1
        held = listing["items"][0]
        assert held["state"] == "held" and "550" in held["last_error"]
        assert "bounce" not in str(listing)  # no addresses in the list
        status = api.request("GET", "/supervisor/scheduler")
        assert status["this_instance_leads"] is True
        assert status["leader"]["current"] is True
        relay.mailbox.refuse.clear()
        answer = api.request("POST", f"/supervisor/notifications/{held['id']}/retry")
        assert answer["state"] == "pending"
        wait_for(lambda: len(relay.mailbox.messages) == 2)
        with pytest.raises(ServerRefused) as conflict:
            api.request("POST", f"/supervisor/notifications/{held['id']}/retry")
        assert conflict.value.status == 409
    finally:
        api.close()
        thread.stop()
        relay.stop()
    # Stopping the server released the lease: the next instance leads at its first tick.
    assert ctx.scheduler is not None and not ctx.scheduler.is_leader


def test_settings_tables(tmp_path: Path) -> None:
    secret = tmp_path / "smtp.secret"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    config = tmp_path / "agentdesk.toml"
    config.write_text(
        f"""
[scheduler]
site = "london"
tick_seconds = 1

[smtp]
host = "relay.bank.example"
port = 587
from_address = "service@bank.example"
username = "agentdesk"
password_file = "{secret}"

[sms]
gateway = "simulator"
""",
        encoding="utf-8",
    )
    loaded = load_server_settings(config)
    assert loaded.scheduler.site == "london" and loaded.scheduler.tick_seconds == 1
    assert loaded.smtp is not None and loaded.smtp.security == "starttls"
    assert loaded.smtp.password_file == secret
    assert loaded.sms is not None and loaded.sms.gateway == "simulator"
    for bad, message in (
        ('[smtp]\nhost = "relay.bank.example"\nsecurity = "none"\n', "in clear"),
        ("[smtp]\nhots = 1\n", "unknown \\[smtp\\] settings: hots"),
        ('[sms]\ngateway = "http"\nurl = "http://sms.example"\n', "https"),
        ("[scheduler]\ntick_seconds = 10\nlease_seconds = 5\n", "three ticks"),
    ):
        config.write_text(bad, encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_server_settings(config)
    secret.chmod(0o644)
    config.write_text(f'[smtp]\nusername = "x"\npassword_file = "{secret}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="chmod 600"):
        load_server_settings(config)
