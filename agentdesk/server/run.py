"""Running the ASGI app under uvicorn: in the foreground (``agentdesk server``) or on a thread.

TLS comes from the site's certificate (``[listen] certfile/keyfile``); plain
HTTP is accepted only on a loopback address (the demo, tests). The thread
form is how ``agentdesk demo`` and the tests run a real server on an
ephemeral loopback port next to a desktop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from agentdesk.server.settings import ListenSettings

log = logging.getLogger(__name__)


def _config(app: FastAPI, listen: ListenSettings) -> uvicorn.Config:
    listen.check()
    return uvicorn.Config(
        app,
        host=listen.host,
        port=listen.port,
        ssl_certfile=str(listen.certfile) if listen.certfile else None,
        ssl_keyfile=str(listen.keyfile) if listen.keyfile else None,
        log_level="warning",
        access_log=False,  # request lines carry query strings: phone numbers, search text
        # X-Forwarded-For/-Proto only from the load balancers named in [listen] trusted_proxies.
        proxy_headers=bool(listen.trusted_proxies),
        forwarded_allow_ips=list(listen.trusted_proxies) or None,
        timeout_keep_alive=30,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        ws_max_size=1024 * 1024,
        # No permessage-deflate. uvicorn's switch is per server, not per endpoint, so this
        # covers every WebSocket: /cti (hundreds of agents' sockets, small JSON messages;
        # compressing each cost more CPU than the event loop could spare), /live (pokes and
        # heartbeats only) and /cti/floor (a few supervisors' sockets).
        ws_per_message_deflate=False,
        limit_concurrency=4096,
    )


def serve(app: FastAPI, listen: ListenSettings) -> None:
    """Serve until interrupted (SIGINT/SIGTERM end it cleanly)."""
    server = uvicorn.Server(_config(app, listen))
    scheme = "https" if listen.tls else "http"
    log.info("agentdesk server on %s://%s:%d", scheme, listen.host, listen.port)
    server.run()


@dataclass
class ServerThread:
    """A real server on a background thread; ``url`` once started."""

    app: FastAPI
    listen: ListenSettings
    url: str = ""
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    def start(self, timeout: float = 20.0) -> str:
        config = _config(self.app, self.listen)
        self._server = uvicorn.Server(config)
        # On a non-main thread uvicorn leaves signal handling to the process.
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve()),  # type: ignore[union-attr]
            name="agentdesk-server",
            daemon=True,
        )
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout * 20)):
            if self._server.started:
                break
            if not self._thread.is_alive():
                raise RuntimeError("the server thread stopped while starting (port in use?)")
            deadline.wait(0.05)
        else:
            raise RuntimeError(f"the server did not start within {timeout:.0f} s")
        sockets = [s for srv in self._server.servers for s in srv.sockets]
        host, port = sockets[0].getsockname()[:2]
        scheme = "https" if self.listen.tls else "http"
        self.url = f"{scheme}://{'localhost' if self.listen.tls else host}:{port}"
        return self.url

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop serving; False (and a warning) if the thread still runs after ``timeout``."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the server did not stop within %.0f s (requests still running)", timeout)
            return False
        return True
