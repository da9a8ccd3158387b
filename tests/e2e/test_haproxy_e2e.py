"""Two ``agentdesk server`` processes over one PostgreSQL, behind a real HAProxy (the shipped
``deploy/haproxy.cfg``, TLS terminated at the proxy with a test CA), and desktop protocol
clients (``ServerApi`` + ``DesktopSignIn`` + ``HttpCentral`` + ``SyncEngine`` with its
``/live`` WebSocket) that know only the proxy's address.

The instance holding the desktop's live socket is killed with SIGKILL while the desktop
pushes. The desktop carries on through the other instance with the same session (no new
sign-in), its live socket reconnects and is poked for a colleague's change, and every
interaction it wrote is at the centre exactly once. A lockout and a revocation made
through one instance hold on the other.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from sqlalchemy import Engine, select, update

from agentdesk.client.api import ServerApi, ServerRefused, SessionEnded, tls_context
from agentdesk.client.central import HttpCentral, WebSocketPokes
from agentdesk.client.signin import DesktopSignIn
from agentdesk.config import ConfigError
from agentdesk.ids import uuid7
from agentdesk.models import Agent, AuditEntry, Interaction, Role, Ticket
from agentdesk.server.settings import ListenSettings
from agentdesk.services.platform.auth import WrongCredentials, hash_password
from agentdesk.services.platform.signin import SESSION_CACHE_SECONDS
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, read_session, write_session
from agentdesk.store.field_crypto import new_key_text
from agentdesk.store.sync import Syncer, SyncScope
from agentdesk.store.sync.engine import SyncEngine
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.sync.port import PokeCallback, StateCallback
from agentdesk.store.sync.syncer import SyncSettings
from agentdesk.store.writer import LocalWriter
from tests.e2e.test_desktop_e2e import AGENTDESK, ROOT, Process, log_tails
from tests.support.haproxy import Backend, HaproxyServer, start_haproxy
from tests.sync.conftest import make_cache
from tests.sync.factories import REF, person, seed_reference, ticket

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres]
PASSWORD = "correct horse"
INSTANCES = ("app1", "app2")


@dataclass
class Cluster:
    """PostgreSQL, two server processes and HAProxy in front of them."""

    engine: Engine
    servers: dict[str, Process]
    urls: dict[str, str]
    proxy: HaproxyServer
    ca: Path
    tmp: Path

    @property
    def url(self) -> str:
        return self.proxy.url

    def api(self, instance: str | None = None) -> ServerApi:
        """A client of the proxy (or of one instance directly, bypassing it)."""
        url = self.url if instance is None else self.urls[instance]
        return ServerApi(url, ca_file=self.ca if url.startswith("https://") else None)

    def kill(self, instance: str) -> float:
        """SIGKILL one instance; the moment it was sent (``time.monotonic()``)."""
        proc = self.servers[instance].proc
        proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        proc.wait(10)
        return killed

    def socket_holder(self, timeout: float = 10.0) -> str:
        """The instance holding the one WebSocket open through the proxy (the desktop's /live)."""
        deadline = time.monotonic() + timeout
        while True:
            holders = {name for name, age in self.proxy.streams() if age not in ("0s", "1s")}
            if len(holders) == 1:
                return holders.pop()
            assert time.monotonic() < deadline, self.proxy.streams()
            time.sleep(0.1)


def _seed(engine: Engine) -> None:
    seed_reference(engine)
    with write_session(engine) as s:
        s.execute(update(Agent).values(password_hash=hash_password(PASSWORD)))
        s.execute(update(Agent).where(Agent.id == REF.bob).values(role=Role.AGENT))
        s.execute(update(Agent).where(Agent.id == REF.alice).values(role=Role.SUPERVISOR))


@pytest.fixture
def cluster(pg_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """TLS terminated at HAProxy (the shipped configuration), instances on plain loopback."""
    with _running_cluster(pg_url, tmp_path, passthrough=False) as running:
        yield running


@pytest.fixture
def passthrough_cluster(pg_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """The shipped pass-through variant: HAProxy in tcp mode, the instances serve TLS."""
    with _running_cluster(pg_url, tmp_path, passthrough=True) as running:
        yield running


@contextlib.contextmanager
def _running_cluster(pg_url: str, tmp_path: Path, *, passthrough: bool) -> Iterator[Cluster]:
    engine = central_engine(pg_url)
    migrate.upgrade(engine)
    _seed(engine)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AGENTDESK_CENTRAL_URL": pg_url,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "AGENTDESK_DATA_DIR": str(tmp_path / "data"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    key_file = tmp_path / "field.key"  # the site's key for dates of birth, shared by both
    key_file.write_text(new_key_text("e2e"), encoding="utf-8")
    key_file.chmod(0o600)
    ca = trustme.CA()
    ca_file, pem = tmp_path / "site-ca.pem", tmp_path / "proxy.pem"
    ca.cert_pem.write_to_path(ca_file)
    site_cert = ca.issue_cert("localhost")
    site_cert.private_key_and_cert_chain_pem.write_to_path(pem)
    tls_options: tuple[str, ...] = ()
    if passthrough:  # each instance presents the site's certificate itself
        site_cert.cert_chain_pems[0].write_to_path(tmp_path / "site.crt")
        site_cert.private_key_pem.write_to_path(tmp_path / "site.key")
        tls_options = ("--certfile", str(tmp_path / "site.crt"))
        tls_options += ("--keyfile", str(tmp_path / "site.key"))
    # The instances believe X-Forwarded-For from the proxy only (it is on 127.0.0.1).
    config = tmp_path / "server.toml"
    config.write_text('[listen]\ntrusted_proxies = ["127.0.0.1"]\n', encoding="utf-8")
    options = ("--port", "0", "--field-key-file", str(key_file), *tls_options)
    servers: dict[str, Process] = {}
    proxy = None
    try:
        for name in INSTANCES:
            servers[name] = Process(
                [*AGENTDESK, "--config", str(config), "server", *options],
                env,
                tmp_path / f"server-{name}.log",
            )
        urls = {
            name: proc.expect(r"listening on (https?://\S+)", 60).group(1)
            for name, proc in servers.items()
        }
        backends = [Backend(name, int(urls[name].rsplit(":", 1)[1])) for name in INSTANCES]
        if passthrough:
            proxy = start_haproxy(backends, directory=tmp_path / "haproxy", passthrough_ca=ca_file)
        else:
            proxy = start_haproxy(backends, directory=tmp_path / "haproxy", pem=pem)
        proxy.wait_all_up(30)
        yield Cluster(engine, servers, urls, proxy, ca_file, tmp_path)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{log_tails(tmp_path)}") from None
    finally:
        if proxy is not None:
            proxy.stop()
        for proc in servers.values():
            proc.stop()
        engine.dispose()


@dataclass
class Links:
    """The desktop's live-link states as its ``SyncEngine`` saw them, with their times."""

    states: list[tuple[float, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, connected: bool) -> None:
        with self.lock:
            self.states.append((time.monotonic(), connected))

    def connected_after(self, moment: float) -> float | None:
        with self.lock:
            return next((t for t, up in self.states if up and t > moment), None)


class WatchedPokes(WebSocketPokes):
    """The desktop's own ``/live`` client, noting when it connects and drops."""

    def __init__(self, api: ServerApi, client_id: Callable[[], uuid.UUID | None], links: Links):
        super().__init__(api, client_id)
        self._links = links

    async def run(self, stop: Any, on_poke: PokeCallback, on_state: StateCallback) -> None:
        def noted(connected: bool, error: str | None) -> None:
            self._links.record(connected)
            on_state(connected, error)

        await super().run(stop, on_poke, noted)


class WatchedCentral(HttpCentral):
    def __init__(self, api: ServerApi, links: Links) -> None:
        super().__init__(api)
        self.links = links

    def live(self) -> WebSocketPokes:
        return WatchedPokes(self.api, lambda: self.client_id, self.links)


@dataclass
class Desk:
    """A desktop as ``agentdesk run`` builds one, minus Qt."""

    api: ServerApi
    sync: SyncEngine
    writer: LocalWriter
    cache: Engine
    links: Links
    session_id: uuid.UUID

    def close(self) -> None:
        self.sync.stop()
        self.api.close()
        self.cache.dispose()


def _desk(cluster: Cluster, login: str) -> Desk:
    api = cluster.api()
    signin = DesktopSignIn(api, f"ws-{login}")
    signin.authenticate(login, PASSWORD)
    grant = signin.grant
    assert grant is not None and not signin.offline
    links = Links()
    cache = make_cache(cluster.tmp / f"cache-{login}.db")
    scope = SyncScope(team_ids=grant.team_ids, agent_id=grant.agent_id)
    # No safety poll within the test: what arrives, arrives because of a poke.
    settings = SyncSettings(poll_interval=600.0)
    central = WatchedCentral(api, links)
    sync = SyncEngine(cache, central, agent_login=login, scope=scope, settings=settings)
    central.client_id = sync.client_id  # as agentdesk.app does: pokes for this desktop only
    writer = LocalWriter(cache, login)
    writer.add_listener(sync.on_local_write)
    sync.start()
    assert sync.wait_for(lambda s: s.last_sync_at is not None and s.online, 60), sync.status()
    return Desk(api, sync, writer, cache, links, grant.session_id)


def _interaction(agent: uuid.UUID) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "channel": "phone",
        "direction": "inbound",
        "started_at": dt.datetime.now(dt.UTC),
        "agent_id": agent,
    }


def _cached(desk: Desk, ticket_id: uuid.UUID) -> bool:
    with read_session(desk.cache) as s:
        return s.get(Ticket, ticket_id) is not None


def test_the_shipped_config_renders_and_haproxy_accepts_it(tmp_path: Path) -> None:
    proxy = start_haproxy([Backend("app1", 1), Backend("app2", 2)], directory=tmp_path)
    try:
        cfg = (tmp_path / "haproxy.cfg").read_text(encoding="utf-8")
        for line in ("balance leastconn", "option redispatch 1", "uri /ready", "timeout tunnel"):
            assert line in cfg, line
        assert set(proxy.states()) == {"app1", "app2"}
    finally:
        proxy.stop()


def test_a_desktop_carries_on_through_the_other_instance_when_its_own_is_killed(
    cluster: Cluster,
) -> None:
    for name in INSTANCES:  # a follower without any PBX link is ready for HTTP
        ready = httpx.get(cluster.urls[name] + "/ready")
        assert ready.status_code == 200 and ready.json()["pbx"] == {}, ready.text
    bob = _desk(cluster, "bob")
    alice = _colleague(cluster, "alice")
    try:
        # Before: a change of bob's reaches the centre, a colleague's reaches bob by a poke.
        first = _interaction(REF.bob)
        bob.writer.write("interaction.add", first)
        assert bob.sync.wait_for(lambda s: s.pending == 0 and s.online, 30), bob.sync.status()
        customer = person()
        alice.writes("customer.create", customer)
        before = ticket(customer_id=str(customer["id"]), team_id=str(REF.team_a))
        alice.writes("ticket.create", before)
        _until(lambda: _cached(bob, before["id"]), 20, "a colleague's ticket reached bob")

        # Bob keeps writing; the instance holding his live socket dies mid-stream.
        victim = cluster.socket_holder()
        written = [first["id"]]
        stop_writing = threading.Event()

        def keep_writing() -> None:
            for _ in range(40):
                if stop_writing.wait(0.05):
                    return
                row = _interaction(REF.bob)
                bob.writer.write("interaction.add", row)
                written.append(row["id"])

        writer = threading.Thread(target=keep_writing, daemon=True)
        writer.start()
        time.sleep(0.5)  # some pushes before the kill, the rest after
        killed = cluster.kill(victim)
        failures = 0
        while True:  # the desktop's next call, with the same token
            try:
                again = bob.api.request("GET", "/session")
                break
            except Exception:
                failures += 1
                assert time.monotonic() - killed < 20, "no successful request 20 s after the kill"
        first_ok = time.monotonic() - killed
        assert again["session_id"] == str(bob.session_id)  # the same session: no new sign-in
        writer.join(10)
        stop_writing.set()

        # The live socket is back, on the survivor, and is poked for a colleague's change.
        _until(lambda: bob.links.connected_after(killed) is not None, 30, "live socket back")
        reconnected = (bob.links.connected_after(killed) or 0.0) - killed
        after = ticket(customer_id=str(customer["id"]), team_id=str(REF.team_a))
        alice.writes("ticket.create", after)
        _until(lambda: _cached(bob, after["id"]), 20, "a colleague's ticket after the kill")

        # Everything bob wrote is at the centre exactly once.
        assert bob.sync.wait_for(lambda s: s.pending == 0 and s.online, 30), bob.sync.status()
        assert bob.sync.status().rejected == ()
        with read_session(cluster.engine) as s:
            ids = s.scalars(select(Interaction.id).where(Interaction.agent_id == REF.bob)).all()
        assert sorted(ids) == sorted(written), (len(ids), len(written))
        assert bob.sync.status().phase != "signed_out"
        survivor = next(name for name in INSTANCES if name != victim)
        cluster.proxy.wait_for({victim: "DOWN", survivor: "UP"}, 10)
        print(
            f"\nfailover through HAProxy: next request OK {first_ok * 1000:.0f} ms after "
            f"SIGKILL ({failures} failed before it), live socket back after "
            f"{reconnected * 1000:.0f} ms; {len(written)} interactions, each once"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{log_tails(cluster.tmp)}") from None
    finally:
        bob.close()
        alice.close()


@dataclass
class Colleague:
    """A second desktop that writes and pushes by hand (no live socket of its own)."""

    api: ServerApi
    writer: LocalWriter
    syncer: Syncer
    cache: Engine

    def writes(self, name: str, args: dict[str, Any]) -> None:
        self.writer.write(name, args)
        report = self.syncer.cycle()
        assert report.rejected == 0, self.syncer.local.rejected()

    def close(self) -> None:
        self.api.close()
        self.cache.dispose()


def _colleague(cluster: Cluster, login: str) -> Colleague:
    api = cluster.api()
    grant = api.sign_in(login, PASSWORD, f"ws-{login}")
    cache = make_cache(cluster.tmp / f"cache-{login}.db")
    scope = SyncScope(team_ids=grant.team_ids, agent_id=grant.agent_id)
    syncer = Syncer(LocalStore(cache), HttpCentral(api), scope, login)
    syncer.ensure_filled()
    return Colleague(api, LocalWriter(cache, login), syncer, cache)


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def _signin_ip(engine: Engine) -> str | None:
    with read_session(engine) as s:
        details = s.scalars(
            select(AuditEntry.details)
            .where(AuditEntry.action == "signin.ok")
            .order_by(AuditEntry.at.desc())
            .limit(1)
        ).first()
    return None if details is None else details.get("client_ip")


def test_the_audit_names_the_desktop_behind_the_proxy_and_no_forged_address(
    cluster: Cluster,
) -> None:
    body = {"login": "bob", "password": PASSWORD, "workstation": "ws-bob"}
    desktop = httpx.HTTPTransport(local_address="127.0.0.2", verify=tls_context(cluster.ca))
    with httpx.Client(transport=desktop, base_url=cluster.url) as through_proxy:
        assert through_proxy.post("/api/v1/session", json=body).status_code == 201
    assert _signin_ip(cluster.engine) == "127.0.0.2"  # not the proxy's 127.0.0.1
    # A desktop reaching an instance itself cannot name another address.
    direct = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=direct, base_url=cluster.urls["app1"]) as forging:
        forged = {"X-Forwarded-For": "203.0.113.9"}
        assert forging.post("/api/v1/session", json=body, headers=forged).status_code == 201
    assert _signin_ip(cluster.engine) == "127.0.0.2"
    with pytest.raises(ConfigError, match="not an address"):
        ListenSettings(trusted_proxies=("*",)).check()


def test_a_lockout_and_a_revocation_on_one_instance_hold_on_the_other(cluster: Cluster) -> None:
    one, other = cluster.api("app1"), cluster.api("app2")
    try:
        # Wrong passwords through app1 until the login locks; app2 refuses the right one.
        for _ in range(10):
            try:
                one.sign_in("bob", "wrong", "ws-guess")
            except ServerRefused as exc:
                if exc.kind == "account-locked":
                    break
        else:
            pytest.fail("bob was never locked")
        with pytest.raises(ServerRefused) as refused:
            other.sign_in("bob", PASSWORD, "ws-bob")
        assert refused.value.kind == "account-locked" and refused.value.status == 429
        # Through the proxy, wherever it sends the sign-in, the same answer.
        proxied = cluster.api()
        with pytest.raises(WrongCredentials, match="Too many failed sign-ins"):
            DesktopSignIn(proxied, "ws-bob").authenticate("bob", PASSWORD)
        proxied.close()

        # Alice's session, used on app2 (which now trusts it for a while), revoked on app1.
        alice = one.sign_in("alice", PASSWORD, "ws-alice")
        other.token = one.token
        assert other.request("GET", "/session")["session_id"] == str(alice.session_id)
        revoked_at = time.monotonic()
        one.request("POST", f"/supervisor/agents/{REF.alice}/revoke-sessions")
        with pytest.raises(SessionEnded):  # at once on the instance that revoked it
            one.request("GET", "/session")
        while True:  # on the other within its session cache's bound
            try:
                other.request("GET", "/session")
            except SessionEnded:
                break
            assert time.monotonic() - revoked_at < SESSION_CACHE_SECONDS + 2
            time.sleep(0.2)
        print(f"\nrevocation on app1 honoured on app2 after {time.monotonic() - revoked_at:.1f} s")
    finally:
        one.close()
        other.close()


def test_a_frozen_instance_is_taken_out_by_its_ready_check_and_back_when_it_thaws(
    cluster: Cluster,
) -> None:
    api = cluster.api()
    api.sign_in("bob", PASSWORD, "ws-bob")
    frozen = cluster.servers["app1"].proc
    try:
        # SIGSTOP: the process holds its port (connects succeed, nothing answers), as a
        # hung or swapped-out instance would; only the /ready check can tell.
        frozen.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        cluster.proxy.wait_for({"app1": "DOWN"}, 30)
        out_after = time.monotonic() - stopped
        for _ in range(10):  # everything now goes to app2, with the same session
            api.request("GET", "/session")
        frozen.send_signal(signal.SIGCONT)
        thawed = time.monotonic()
        cluster.proxy.wait_for({"app1": "UP"}, 30)
        back_after = time.monotonic() - thawed
        print(f"\nfrozen instance out after {out_after:.1f} s, back {back_after:.1f} s after thaw")
        assert out_after < 20
    finally:
        frozen.send_signal(signal.SIGCONT)
        api.close()


def test_tls_pass_through_a_desktop_carries_on_when_its_instance_is_killed(
    passthrough_cluster: Cluster,
) -> None:
    """The commented variant of deploy/haproxy.cfg: tcp mode, /ready checked over TLS."""
    cluster = passthrough_cluster
    api = cluster.api()
    try:
        grant = api.sign_in("bob", PASSWORD, "ws-bob")
        api.request("GET", "/session")
        victim = cluster.socket_holder()  # in tcp mode the desktop's connection is bound to one
        killed = cluster.kill(victim)
        again = api.request("GET", "/session")  # one call, no sign-in: it reaches the survivor
        took = time.monotonic() - killed
        assert again["session_id"] == str(grant.session_id)
        survivor = next(name for name in INSTANCES if name != victim)
        cluster.proxy.wait_for({victim: "DOWN", survivor: "UP"}, 10)
        print(f"\npass-through: next request OK {took * 1000:.0f} ms after SIGKILL")
    finally:
        api.close()
