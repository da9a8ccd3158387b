"""``ServerApi`` sends a GET once more when its connection broke before an answer (the
instance behind a load balancer died, the balancer reloaded), and never repeats a write."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from agentdesk.client.api import ServerApi, ServerUnavailable

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n"
    b'Connection: close\r\n\r\n{"ok": true}'
)


class DroppingServer:
    """A loopback HTTP server that hangs up on its first ``drops`` connections unanswered."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(5)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                self.connections += 1
                conn.settimeout(5)
                try:
                    conn.recv(65536)  # the request (small: headers, maybe a JSON body)
                    if self.connections > self.drops:
                        conn.sendall(ANSWER)
                except OSError:
                    pass

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self._sock.close()
        self._thread.join(5)


@pytest.fixture
def dropping() -> Iterator[Callable[[int], DroppingServer]]:
    made: list[DroppingServer] = []

    def make(drops: int) -> DroppingServer:
        server = DroppingServer(drops)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def test_a_get_cut_off_once_is_sent_again_and_answers(
    dropping: Callable[..., DroppingServer],
) -> None:
    server = dropping(drops=1)
    api = ServerApi(server.url)
    try:
        assert api.request("GET", "/sync/identity") == {"ok": True}
    finally:
        api.close()
    assert server.connections == 2


def test_a_get_cut_off_twice_is_unavailable_not_retried_forever(
    dropping: Callable[..., DroppingServer],
) -> None:
    server = dropping(drops=5)
    api = ServerApi(server.url)
    try:
        with pytest.raises(ServerUnavailable):
            api.request("GET", "/sync/identity")
    finally:
        api.close()
    assert server.connections == 2


def test_a_write_cut_off_is_not_repeated(dropping: Callable[..., DroppingServer]) -> None:
    server = dropping(drops=1)
    api = ServerApi(server.url)
    try:
        with pytest.raises(ServerUnavailable):
            api.request("POST", "/cti/requests", json={"kind": "hold"})
    finally:
        api.close()
    assert server.connections == 1
