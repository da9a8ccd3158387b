"""Two sites end to end: two ``agentdesk pbx`` (systemnames ``london`` and ``leeds``), one
``agentdesk server`` with a ``[[pbx]]`` per site, and two ``agentdesk run`` desktops, alice on
London's phones and bob on Leeds's, all separate processes.

Each desktop is offered only calls of its own PBX (Linkedids carry the systemname), each PBX
sees exactly one AMI login (the server's gateway), and every call a desktop wraps up is one
interaction at the centre, under the customer whose number called.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from agentdesk.models import CustomerPhone, Interaction
from tests.e2e.file_keyring import ENV, PASSWORD_ENV, E2eCryptFileKeyring
from tests.e2e.test_desktop_e2e import (
    AGENTDESK,
    Process,
    landed,
    log_tails,
    pbx_config,
    site,  # noqa: F401  (the fixture)
)
from tests.ui.data import PASSWORD, add_agent

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SITES = (("london", "alice", "PJSIP/1001", 5), ("leeds", "bob", "PJSIP/1002", 6))


def _settings(tmp: Path, ports: dict[str, str], secret: Path) -> Path:
    blocks = []
    for name, _login, interface, _seed in SITES:
        blocks.append(
            "[[pbx]]\n"
            f'site = "{name}"\nhost = "127.0.0.1"\nport = {ports[name]}\n'
            f'secret_file = "{secret}"\ninterfaces = ["{interface}"]\n'
        )
    path = tmp / "server.toml"
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def test_two_pbxs_two_desktops_each_sees_only_its_own_calls(site: dict) -> None:  # noqa: F811
    env, tmp, engine = site["env"], site["tmp"], site["engine"]
    add_agent(engine, "bob", "PJSIP/1002")  # alice (PJSIP/1001) is the fixture's
    with pytest.MonkeyPatch.context() as patch:
        for key in (ENV, PASSWORD_ENV):
            patch.setenv(key, env[key])
        E2eCryptFileKeyring().set_password("agentdesk", "remember:bob", PASSWORD)
    config = pbx_config(tmp)
    pbxs: dict[str, Process] = {}
    desks: dict[str, Process] = {}
    server = None
    saved: dict[str, list[str]] = {}
    try:
        ports = {}
        for name, _login, _iface, seed in SITES:
            pbxs[name] = Process(
                [
                    *AGENTDESK,
                    "pbx",
                    "--port",
                    "0",
                    "--agents",
                    "0",
                    "--time-scale",
                    "10",
                    "--pbx-config",
                    str(config),
                    "--seed",
                    str(seed),
                    "--system-name",
                    name,
                ],
                env,
                tmp / f"pbx-{name}.log",
            )
            ports[name] = pbxs[name].expect(r"AMI on 127\.0\.0\.1:(\d+)", 30).group(1)
        settings = _settings(tmp, ports, site["secret"])
        server = Process(
            [*AGENTDESK, "--config", str(settings), "server", "--port", "0"],
            env,
            tmp / "server.log",
        )
        url = server.expect(r"listening on (http://\S+)", 30).group(1)
        for name, login, _iface, _seed in SITES:
            desks[login] = Process(
                [
                    *AGENTDESK,
                    "run",
                    "--agent",
                    login,
                    "--auto-sign-in",
                    "--auto-answer",
                    "--acw-limit",
                    "1",
                    "--join-queues",
                ],
                {
                    **env,
                    "AGENTDESK_SERVER_URL": url,
                    "AGENTDESK_DATA_DIR": str(tmp / f"data-{login}"),
                    "XDG_CONFIG_HOME": str(tmp / f"config-{login}"),
                    "AGENTDESK_WORKSTATION": f"ws-{name}",
                },
                tmp / f"desk-{login}.log",
            )
        for desk in desks.values():
            desk.expect(r"calls: through the server's CTI gateway", 30)
        for login, desk in desks.items():
            found = desk.expect(r"wrap-up saved: call (\S+) → interaction (\S+)", 120)
            saved[login] = [found.group(1)]
        for login, desk in desks.items():
            for _ in range(5):
                desk.expect(r"sync: all local changes are at the centre", 30)
                if landed(engine, saved[login][0]):
                    break
    except AssertionError as exc:
        for process in (*desks.values(), server, *pbxs.values()):
            if process is not None:
                process.stop()
        raise AssertionError(f"{exc}\n{log_tails(tmp)}") from None
    finally:
        codes = [p.stop() for p in (*desks.values(), server, *pbxs.values()) if p is not None]
    assert codes and all(code == 0 for code in codes), codes

    # Each PBX saw one AMI login: the server's gateway (no desktop logged in anywhere).
    for name, *_rest in SITES:
        log = (tmp / f"pbx-{name}.log").read_text(encoding="utf-8")
        assert log.count("logged in from") == 1, log[-2000:]
    # Each desktop was offered only its own site's calls.
    for name, login, _iface, _seed in SITES:
        log = (tmp / f"desk-{login}.log").read_text(encoding="utf-8")
        assert "agentdesk.telephony.client" not in log
        offered = re.findall(r"call (\S+) offered from", log)
        assert offered, log[-2000:]
        assert all(linkedid.startswith(f"{name}-") for linkedid in offered), offered
    # One interaction per wrapped-up call, under the caller's customer, at the centre.
    with engine.connect() as conn:
        for login, (linkedid,) in saved.items():
            rows = conn.execute(
                select(Interaction.customer_id, Interaction.caller_id).where(
                    Interaction.linkedid == linkedid
                )
            ).all()
            assert len(rows) == 1, (login, rows)
            owners = (
                conn.execute(
                    select(CustomerPhone.customer_id).where(CustomerPhone.number_raw == rows[0][1])
                )
                .scalars()
                .all()
            )
            assert rows[0][0] is not None and owners == [rows[0][0]], login
