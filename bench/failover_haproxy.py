"""Failover through HAProxy: how long a desktop waits when the instance it talks to dies.

PostgreSQL, two ``agentdesk server`` processes on fixed loopback ports and the shipped
``deploy/haproxy.cfg`` (TLS terminated at the proxy) in front of them. A protocol desktop
(``ServerApi`` with one session, and the desktop's own ``/live`` client,
``WebSocketPokes``) works through the proxy: one request after another, and its live
socket open. Each round SIGKILLs the instance holding the live socket, measures

* **next OK**: SIGKILL → the first request that succeeds after it (same session token),
* **failed**: how many requests failed in between (0 means HAProxy's retries hid it),
* **live back**: SIGKILL → the live socket open again (on the survivor),

then restarts the killed instance on its port and waits until HAProxy's ``/ready`` check
has it UP again before the next round.

Run: .venv/bin/python bench/failover_haproxy.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package holds helpers

import trustme
from sqlalchemy import update

from agentdesk.client.api import ServerApi
from agentdesk.client.central import WebSocketPokes
from agentdesk.models import Agent
from agentdesk.services.platform.auth import hash_password
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, write_session
from agentdesk.store.field_crypto import new_key_text
from tests.e2e.test_desktop_e2e import AGENTDESK, ROOT, Process
from tests.support.haproxy import Backend, HaproxyServer, free_port, start_haproxy
from tests.support.pgserver import running_server
from tests.sync.factories import seed_reference

PASSWORD = "correct horse"
NAMES = ("app1", "app2")


class LiveWatch:
    """The desktop's ``/live`` client on its own loop, noting when it (re)connects."""

    def __init__(self, api: ServerApi) -> None:
        self.pokes = WebSocketPokes(api)
        self.opened: list[float] = []
        self._stop: asyncio.Event | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._stop = asyncio.Event()
        self._loop.run_until_complete(self.pokes.run(self._stop, lambda: None, self._state))

    def _state(self, connected: bool, _error: str | None) -> None:
        if connected:
            self.opened.append(time.monotonic())

    def back_after(self, moment: float, timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [t for t in self.opened if t > moment]
            if later:
                return later[0] - moment
            time.sleep(0.01)
        raise RuntimeError(f"the live socket did not come back within {timeout}s")

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)


def holder(proxy: HaproxyServer, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = {name for name, age in proxy.streams() if age not in ("0s", "1s")}
        if len(held) == 1:
            return held.pop()
        time.sleep(0.1)
    raise RuntimeError(f"no single live-socket holder: {proxy.streams()}")


def start_instance(name: str, port: int, env: dict[str, str], tmp: Path, key: Path) -> Process:
    proc = Process(
        [*AGENTDESK, "server", "--port", str(port), "--field-key-file", str(key)],
        env,
        tmp / f"server-{name}-{time.monotonic_ns()}.log",
    )
    proc.expect(r"listening on ", 60)
    return proc


def one_round(
    api: ServerApi,
    live: LiveWatch,
    proxy: HaproxyServer,
    servers: dict[str, Process],
    restart: dict[str, object],
) -> tuple[float, int, float]:
    victim = holder(proxy)
    servers[victim].proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    servers[victim].proc.wait(10)
    failed = 0
    while True:
        try:
            api.request("GET", "/session")
            break
        except Exception:
            failed += 1
            if time.monotonic() - killed > 30:
                raise
    next_ok = time.monotonic() - killed
    back = live.back_after(killed)
    servers[victim].stop()
    servers[victim] = start_instance(victim, **restart[victim])  # type: ignore[arg-type]
    proxy.wait_all_up(30)
    return next_ok, failed, back


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with running_server() as pg, tempfile.TemporaryDirectory(prefix="agentdesk-lb-") as dir_:
        tmp = Path(dir_)
        url = pg.url(pg.create_database())
        engine = central_engine(url)
        migrate.upgrade(engine)
        seed_reference(engine)
        with write_session(engine) as s:
            s.execute(update(Agent).values(password_hash=hash_password(PASSWORD)))
        engine.dispose()
        key = tmp / "field.key"
        key.write_text(new_key_text("bench"), encoding="utf-8")
        key.chmod(0o600)
        ca = trustme.CA()
        ca.cert_pem.write_to_path(tmp / "ca.pem")
        ca.issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(tmp / "lb.pem")
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "AGENTDESK_CENTRAL_URL": url,
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "AGENTDESK_DATA_DIR": str(tmp / "data"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        }
        ports = {name: free_port() for name in NAMES}
        restart = {n: {"port": ports[n], "env": env, "tmp": tmp, "key": key} for n in NAMES}
        servers = {n: start_instance(n, **restart[n]) for n in NAMES}  # type: ignore[arg-type]
        proxy = start_haproxy(
            [Backend(n, ports[n]) for n in NAMES], directory=tmp / "haproxy", pem=tmp / "lb.pem"
        )
        api = ServerApi(proxy.url, ca_file=tmp / "ca.pem")
        live: LiveWatch | None = None
        try:
            proxy.wait_all_up(30)
            api.sign_in("bob", PASSWORD, "bench")
            live = LiveWatch(api)
            live.back_after(0.0)
            results = [one_round(api, live, proxy, servers, restart) for _ in range(args.rounds)]
        finally:
            if live is not None:
                live.stop()
            api.close()
            proxy.stop()
            for proc in servers.values():
                proc.stop()
    next_ok = sorted(r[0] * 1000 for r in results)
    back = sorted(r[2] * 1000 for r in results)
    failed = sum(r[1] for r in results)
    print(f"failover through HAProxy 2.6, {len(results)} SIGKILLs of the live socket's instance")
    print(
        f"  next request OK after: p50 {statistics.median(next_ok):.0f} ms, "
        f"max {next_ok[-1]:.0f} ms (same session; {failed} requests failed in all rounds)"
    )
    print(f"  live socket back after: p50 {statistics.median(back):.0f} ms, max {back[-1]:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
