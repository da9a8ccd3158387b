"""The gateway's PBX link as the desktops see it: link states, resyncs, a socket coming back."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from agentdesk.config import ConfigError
from agentdesk.server.cti.config import PbxConfig, parse_pbx_list, pbx_from_address
from tests.server.cti.conftest import (
    ALICE,
    CALLER,
    CtiSocket,
    Lab,
    is_event,
    secret_file,
    seed,
    start_server,
    wait_until,
)
from tests.ui.data import PASSWORD


def _is_link(state: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "link" and m["state"] == state


def test_pbx_disconnect_is_reported_then_resynced(lab: Lab) -> None:
    alice = lab.desk("alice")
    sock = alice.open()
    sock.expect(lambda m: m["type"] == "resync", what="the first resync")
    placed = lab.sim.call(CALLER, ALICE)
    sock.expect(is_event("AgentCalled", placed.linkedid), what="the offer")
    assert alice.request({"kind": "answer"}).json()["ok"]
    sock.expect(is_event("AgentConnect", placed.linkedid), what="AgentConnect")
    sock.seen.clear()

    assert lab.sim.drop_links() >= 1
    sock.expect(_is_link("disconnected"), what="link disconnected")
    ready = lab.ready()  # a PBX that is down does not make the server unready
    assert ready["status"] == "ready" and "lab" in ready["pbx"]
    resync = sock.expect(lambda m: m["type"] == "resync", 20, "the resync after reconnecting")
    assert resync["reconnect"] is True
    order = [m["type"] for m in sock.seen]
    assert order.index("resync") > order.index("link")
    connected = [i for i, m in enumerate(sock.seen) if _is_link("connected")(m)]
    assert connected and connected[0] < order.index("resync")
    channels = {(c["channel"]["linkedid"], c["channel"]["channel"]) for c in resync["channels"]}
    assert any(linkedid == placed.linkedid for linkedid, _ in channels), channels
    members = [r for r in resync["queue"] if r["kind"] == "QueueMember"]
    assert members and all(r["interface"] == ALICE for r in members)
    names = {r["queue"] for r in resync["queue"] if r["kind"] == "QueueParams"}
    assert "general" in names
    # The call is still the agent's after the reconnect: requests on it work.
    hold = alice.request({"kind": "hold", "linkedid": placed.linkedid, "on": True})
    assert hold.status_code == 200 and hold.json()["ok"], hold.text


def test_a_socket_reconnecting_mid_call_gets_its_call_in_resync(lab: Lab) -> None:
    alice = lab.desk("alice")
    first = alice.open()
    first.expect(lambda m: m["type"] == "resync", what="resync")
    placed = lab.sim.call(CALLER, ALICE)
    first.expect(is_event("AgentCalled", placed.linkedid), what="the offer")
    assert alice.request({"kind": "answer"}).json()["ok"]
    first.expect(is_event("AgentConnect", placed.linkedid), what="AgentConnect")
    first.close()

    again = alice.open(client_id=alice.client_id)
    assert again.expect(lambda m: True, what="the first message")["type"] == "link"
    resync = again.expect(lambda m: m["type"] == "resync", what="the resync")
    assert resync["reconnect"] is False
    legs = {c["channel"]["channel"] for c in resync["channels"]}
    assert placed.channel in legs, legs  # the caller's channel
    assert any(leg.startswith(ALICE + "-") for leg in legs), legs  # alice's own leg
    assert {c["channel"]["linkedid"] for c in resync["channels"]} == {placed.linkedid}
    # Events keep flowing on the new socket.
    assert alice.request({"kind": "hold", "linkedid": placed.linkedid, "on": True}).json()["ok"]
    again.expect(is_event("Hold", placed.linkedid), what="Hold on the new socket")


def test_bob_resync_carries_none_of_alices_calls(lab: Lab) -> None:
    alice = lab.desk("alice")
    sock = alice.open()
    sock.expect(lambda m: m["type"] == "resync", what="resync")
    placed = lab.sim.call(CALLER, ALICE)
    sock.expect(is_event("AgentCalled", placed.linkedid), what="the offer")
    bob = lab.desk("bob").open()
    resync = bob.expect(lambda m: m["type"] == "resync", what="bob's resync")
    assert resync["channels"] == []
    assert all(r.get("interface") in (None, "PJSIP/1002") for r in resync["queue"])


def test_link_down_means_503_with_retry_after(cti_central: Engine, tmp_path: Path) -> None:
    seed(cti_central)
    closed_port = _free_port()
    pbx = PbxConfig(
        site="nowhere",
        host="127.0.0.1",
        port=closed_port,
        secret_file=secret_file(tmp_path, "s3cret"),
    )
    thread, _ctx = start_server(cti_central, (pbx,))
    try:
        ready = httpx.get(thread.url + "/ready", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["pbx"]["nowhere"]["state"] != "connected"
        from agentdesk.client.api import ServerApi

        api = ServerApi(thread.url)
        api.sign_in("alice", PASSWORD, "ws-alice")
        headers = {"Authorization": f"Bearer {api.token}"}
        response = httpx.post(
            thread.url + "/api/v1/cti/requests",
            json={"kind": "pause", "paused": True},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"]
        assert response.headers["content-type"].startswith("application/problem+json")
        sock = CtiSocket(thread.url, api.token or "", uuid.uuid4())
        try:
            link = sock.expect(lambda m: m["type"] == "link", what="the link state")
            assert link["state"] in ("disconnected", "reconnecting")
            sock.drain(0.5)
            assert not [m for m in sock.seen if m["type"] == "resync"]
        finally:
            sock.close()
        api.close()
    finally:
        thread.stop()


def test_server_without_pbx_still_serves_and_says_so(cti_central: Engine) -> None:
    seed(cti_central)
    thread, _ctx = start_server(cti_central, ())
    try:
        ready = httpx.get(thread.url + "/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["pbx"] == {}
        from agentdesk.client.api import ServerApi

        api = ServerApi(thread.url)
        api.sign_in("alice", PASSWORD, "ws-alice")
        response = httpx.post(
            thread.url + "/api/v1/cti/requests",
            json={"kind": "answer"},
            headers={"Authorization": f"Bearer {api.token}"},
            timeout=10,
        )
        assert response.status_code == 503
        sock = CtiSocket(thread.url, api.token or "", None)
        try:
            link = sock.expect(lambda m: m["type"] == "link", what="the link state")
            assert link["state"] == "failed" and "no PBX" in link["detail"]
        finally:
            sock.close()
        api.close()
    finally:
        thread.stop()


def test_wrong_secret_fails_the_link_without_failing_the_server(tmp_path: Path, lab: Lab) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    bad = PbxConfig(
        site="bad",
        host="127.0.0.1",
        port=lab.sim.sim.port,
        secret_file=secret_file(folder, "wrong"),
    )
    thread, ctx = start_server(lab.central, (bad,))
    try:
        hub = ctx.cti
        assert hub is not None
        wait_until(lambda: hub.status()["bad"]["state"] == "failed", 15, "a failed login")
        ready = httpx.get(thread.url + "/ready", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["pbx"]["bad"]["state"] == "failed"
    finally:
        thread.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------- settings
def test_pbx_settings_refuse_bad_entries(tmp_path: Path) -> None:
    good = {"site": "london", "host": "10.0.0.5", "secret_keyring": "ami-london"}
    (config,) = parse_pbx_list([good])
    assert config.port == 5038 and config.auth == "md5"
    for bad, words in (
        ({"site": "london", "host": "h"}, "exactly one of secret_file"),
        ({**good, "port": 70000}, "port"),
        ({**good, "site": "a b"}, "site"),
        ({**good, "colour": "blue"}, "unknown settings colour"),
        ({**good, "auth": "none"}, "auth"),
        ({**good, "transfer_context": "x\ny"}, "transfer_context"),
    ):
        with pytest.raises(ConfigError, match=words):
            parse_pbx_list([bad])
    with pytest.raises(ConfigError, match="unique"):
        parse_pbx_list([good, good])
    with pytest.raises(ConfigError, match="array of tables"):
        parse_pbx_list({"site": "x"})


def test_secret_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "ami.secret"
    path.write_text("s3cret\n")
    os.chmod(path, 0o644)
    config = PbxConfig(site="lab", host="127.0.0.1", secret_file=path)
    with pytest.raises(ConfigError, match="chmod 600"):
        config.read_secret()
    os.chmod(path, 0o600)
    assert config.read_secret() == "s3cret"
    keyring_config = PbxConfig(site="lab", host="127.0.0.1", secret_keyring="ami-lab")
    with pytest.raises(ConfigError, match="no keyring entry"):
        keyring_config.read_secret()


def test_pbx_address_option() -> None:
    config = pbx_from_address(
        "127.0.0.1:5038", username="agentdesk", secret_file=None, secret_keyring=None
    )
    assert (config.site, config.host, config.port, config.secret_keyring) == (
        "local",
        "127.0.0.1",
        5038,
        "ami",
    )
    with pytest.raises(ConfigError, match="HOST:PORT"):
        pbx_from_address("localhost", username="agentdesk", secret_file=None, secret_keyring=None)


def test_settings_file_pbx_tables(tmp_path: Path) -> None:
    from agentdesk.server.settings import load_server_settings

    path = tmp_path / "agentdesk.toml"
    path.write_text(
        '[[pbx]]\nsite = "london"\nhost = "10.0.0.5"\nsecret_file = "/etc/agentdesk/ami.secret"\n'
        'interfaces = ["PJSIP/1*"]\n\n'
        '[[pbx]]\nsite = "leeds"\nhost = "10.0.1.5"\nport = 5039\nsecret_keyring = "ami-leeds"\n',
        encoding="utf-8",
    )
    london, leeds = load_server_settings(path).pbx
    assert (london.site, london.interfaces, london.secret_file) == (
        "london",
        ("PJSIP/1*",),
        Path("/etc/agentdesk/ami.secret"),
    )
    assert (leeds.port, leeds.secret_keyring) == (5039, "ami-leeds")
    (tmp_path / "none.toml").write_text("[listen]\nport = 8443\n", encoding="utf-8")
    assert load_server_settings(tmp_path / "none.toml").pbx == ()
