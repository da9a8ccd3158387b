"""A real ``agentdesk server`` on a loopback thread over a given central store (for GUI tests).

The desktop under test signs in to it exactly as ``agentdesk run`` would:
``ServerApi`` + ``DesktopSignIn`` → a ``ServerConnection`` for
``agentdesk.app.build_desktop``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from agentdesk.app import ServerConnection, server_connection
from agentdesk.client.api import ServerApi
from agentdesk.client.signin import DesktopSignIn
from agentdesk.server.app import build_context, create_app
from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings, ServerSettings
from agentdesk.services.platform.auth import AgentIdentity
from agentdesk.store.field_crypto import FieldCipher

EVERY_ROLE = ("agent", "supervisor", "admin")


@dataclass
class LoopbackServer:
    """The server thread and its URL."""

    thread: ServerThread
    url: str

    @classmethod
    def start(
        cls,
        central: Engine,
        *,
        cipher: FieldCipher | None = None,
        full_replica_roles: tuple[str, ...] = EVERY_ROLE,
    ) -> LoopbackServer:
        listen = ListenSettings(host="127.0.0.1", port=0, full_replica_roles=full_replica_roles)
        ctx = build_context(central, ServerSettings(listen=listen), cipher=cipher)
        thread = ServerThread(create_app(ctx), listen)
        return cls(thread, thread.start())

    def sign_in(
        self, login: str, password: str, workstation: str = "ws-test"
    ) -> tuple[AgentIdentity, ServerConnection]:
        api = ServerApi(self.url)
        signin = DesktopSignIn(api, workstation)
        identity = signin.authenticate(login, password)
        connection = server_connection(api, signin.grant)
        assert connection is not None
        return identity, connection

    def stop(self) -> None:
        assert self.thread.stop(), "the server thread was still running 10 s after its stop"
