"""HTTPS with the site's certificate (made by trustme), and plain HTTP only on loopback."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import trustme
from sqlalchemy import Engine

from agentdesk.client.api import ServerApi, ServerUnavailable
from agentdesk.client.central import HttpCentral
from agentdesk.config import ConfigError
from agentdesk.server.app import build_context, create_app
from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings, ServerSettings
from tests.server.conftest import PASSWORD, RunningServer


@pytest.fixture
def site_ca(tmp_path: Path) -> tuple[trustme.CA, Path, Path, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "key"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    return ca, ca_file, cert_file, key_file


def test_a_desktop_signs_in_and_syncs_over_https_with_the_site_ca(
    server: RunningServer, site_ca: tuple[trustme.CA, Path, Path, Path]
) -> None:
    _ca, ca_file, cert_file, key_file = site_ca
    listen = ListenSettings(host="127.0.0.1", port=0, certfile=cert_file, keyfile=key_file)
    thread = ServerThread(create_app(server.ctx), listen)
    url = thread.start()
    try:
        assert url.startswith("https://localhost:")
        api = ServerApi(url, ca_file=ca_file)
        api.sign_in("bob", PASSWORD, "ws-tls")
        assert HttpCentral(api).identity()
        # Without the site's CA the certificate is not trusted: nothing is sent.
        stranger = ServerApi(url)
        with pytest.raises(ServerUnavailable):
            stranger.sign_in("bob", PASSWORD, "ws-tls")
        api.close()
        stranger.close()
    finally:
        thread.stop()


def test_plain_http_is_refused_off_loopback(central: Engine, tmp_path: Path) -> None:
    ctx = build_context(central, ServerSettings())
    for host in ("0.0.0.0", "192.0.2.10", "::"):
        with pytest.raises(ConfigError, match="refusing plain HTTP"):
            ServerThread(create_app(ctx), ListenSettings(host=host, port=0)).start()
    with pytest.raises(ConfigError, match="both certfile and keyfile"):
        ListenSettings(host="127.0.0.1", certfile=tmp_path / f"{uuid.uuid4()}.pem").check()
