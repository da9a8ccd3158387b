"""The CTI failover, all real processes: PostgreSQL, NATS, an ``agentdesk pbx``, two ``agentdesk
server`` instances with ``[bus]`` and the same ``[[pbx]]``, HAProxy (the shipped config, TLS at
the proxy) and an ``agentdesk run`` desktop that knows only the proxy's address.

One instance holds the PBX's AMI link. It is killed with SIGKILL while the desktop takes
calls; the other instance takes the link over once the lease lapses, the desktop reconnects
through the proxy and keeps taking calls. At the end: every call the desktop wrapped up is
one interaction at the centre (none lost, none doubled), and the PBX never saw two AMI
logins at once.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
import trustme
from sqlalchemy import func, select

from agentdesk.models import Interaction
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, read_session
from agentdesk.telephony.sim.traffic import StaticCallerPool
from tests.e2e.file_keyring import ENV, PASSWORD_ENV, E2eCryptFileKeyring
from tests.e2e.test_desktop_e2e import AGENTDESK, ROOT, Process, landed, log_tails, pbx_config
from tests.support.haproxy import Backend, start_haproxy
from tests.support.nats import running_nats
from tests.ui.data import PASSWORD, add_agent, add_customer

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres]
INSTANCES = ("app1", "app2")
LEASE_TTL = 3.0


def _leader(servers: dict[str, Process]) -> str:
    """The instance that logged in to the PBX (its log says it took the link)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for name, proc in servers.items():
            if "takes the AMI link" in Path(proc.log.name).read_text(encoding="utf-8"):
                return name
        time.sleep(0.2)
    raise AssertionError("no instance took the PBX link")


def test_the_instance_holding_the_pbx_link_is_killed_and_no_call_is_lost(
    pg_url: str, tmp_path: Path
) -> None:
    engine = central_engine(pg_url)
    migrate.upgrade(engine)
    add_agent(engine)  # alice on PJSIP/1001
    for caller in {c.number: c for c in StaticCallerPool.demo()._callers}.values():
        add_customer(engine, caller.name or "Caller", caller.number, products=1,
                     open_tickets=0, interactions=0)  # fmt: skip
    keyring_env = {ENV: str(tmp_path / "keyring.cfg"), PASSWORD_ENV: "e2e-only"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in keyring_env.items():
            patch.setenv(key, value)
        E2eCryptFileKeyring().set_password("agentdesk", "remember:alice", PASSWORD)
    secret = tmp_path / "ami.secret"
    secret.touch(mode=0o600)
    secret.write_text("agentdesk\n", encoding="utf-8")
    ca = trustme.CA()
    ca_file, pem = tmp_path / "site-ca.pem", tmp_path / "proxy.pem"
    ca.cert_pem.write_to_path(ca_file)
    ca.issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(pem)
    env = {
        **os.environ,
        **keyring_env,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "tests.e2e.file_keyring.E2eCryptFileKeyring",
        "AGENTDESK_CENTRAL_URL": pg_url,
        "AGENTDESK_WORKSTATION": "e2e-ws",
    }
    processes: list[Process] = []
    servers: dict[str, Process] = {}
    proxy = None
    try:
        with running_nats() as nats:
            pbx = Process(
                [*AGENTDESK, "pbx", "--port", "0", "--agents", "0", "--time-scale", "10",
                 "--pbx-config", str(pbx_config(tmp_path)), "--seed", "5"],
                env, tmp_path / "pbx.log",
            )  # fmt: skip
            processes.append(pbx)
            port = pbx.expect(r"AMI on 127\.0\.0\.1:(\d+)", 30).group(1)
            urls = {}
            for name in INSTANCES:
                settings = tmp_path / f"{name}.toml"
                settings.write_text(
                    f'[bus]\nurl = "{nats.url}"\ninstance = "{name}"\nlease_ttl = {LEASE_TTL}\n'
                    f'[[pbx]]\nsite = "lab"\nhost = "127.0.0.1"\nport = {port}\n'
                    f'secret_file = "{secret}"\n',
                    encoding="utf-8",
                )
                servers[name] = Process(
                    [*AGENTDESK, "--config", str(settings), "server", "--port", "0"],
                    {**env, "XDG_CONFIG_HOME": str(tmp_path / f"config-{name}")},
                    tmp_path / f"server-{name}.log",
                )
                processes.append(servers[name])
                urls[name] = servers[name].expect(r"listening on (http://\S+)", 60).group(1)
            backends = [Backend(n, int(urls[n].rsplit(":", 1)[1])) for n in INSTANCES]
            proxy = start_haproxy(backends, directory=tmp_path / "haproxy", pem=pem)
            proxy.wait_all_up(30)
            desk = Process(
                [*AGENTDESK, "run", "--agent", "alice", "--auto-sign-in", "--auto-answer",
                 "--acw-limit", "1", "--join-queues"],
                {**env, "AGENTDESK_SERVER_URL": proxy.url, "AGENTDESK_SERVER_CA": str(ca_file),
                 "AGENTDESK_DATA_DIR": str(tmp_path / "data-alice"),
                 "XDG_CONFIG_HOME": str(tmp_path / "config-alice")},
                tmp_path / "desk-alice.log",
            )  # fmt: skip
            processes.append(desk)
            desk.expect(r"calls: through the server's CTI gateway", 60)
            before = desk.expect(r"wrap-up saved: call (\S+) → interaction", 120).group(1)

            leader = _leader(servers)
            servers[leader].proc.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            servers[leader].proc.wait(10)
            # The desktop takes calls again: the other instance holds the link now.
            after = desk.expect(r"wrap-up saved: call (\S+) → interaction", 120).group(1)
            recovered = time.monotonic() - killed
            survivor = next(n for n in INSTANCES if n != leader)
            assert "takes the AMI link" in Path(servers[survivor].log.name).read_text("utf-8")
            print(f"\nleader SIGKILLed: next call wrapped up {recovered:.1f} s later")
            for _ in range(10):
                desk.expect(r"sync: all local changes are at the centre", 60)
                if landed(engine, after):
                    break
            desk_log = Path(desk.log.name).read_text(encoding="utf-8")
            saved = re.findall(r"wrap-up saved: call (\S+) → interaction", desk_log)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{log_tails(tmp_path)}") from None
    finally:
        if proxy is not None:
            proxy.stop()
        for proc in reversed(processes):
            proc.stop()

    assert before in saved and after in saved
    with read_session(engine) as s:
        for linkedid in saved:
            count = s.scalar(
                select(func.count())
                .select_from(Interaction)
                .where(Interaction.linkedid == linkedid)
            )
            assert count == 1, (linkedid, count)  # none lost, none doubled
    # One AMI login at a time: the leader's, then (after it died) the survivor's.
    pbx_log = (tmp_path / "pbx.log").read_text(encoding="utf-8")
    assert pbx_log.count("logged in from") == 2, pbx_log[-3000:]
    engine.dispose()
