"""The HTTP SMS gateway client against a gateway on loopback (JSON in, id out)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentdesk.services.notifications import DeliveryError, HttpSmsGateway, SmsSettings


class Gateway(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.answers: list[int] = []


class Handler(BaseHTTPRequestHandler):
    server: Gateway

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((body, self.headers.get("Authorization")))
        status = self.server.answers.pop(0) if self.server.answers else 200
        payload = json.dumps({"id": f"gw-{len(self.server.received)}"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_http_gateway_sends_and_classifies_failures(gateway: Gateway, tmp_path: Path) -> None:
    token = tmp_path / "sms.token"
    token.write_text("t0ken\n")
    url = f"http://127.0.0.1:{gateway.server_address[1]}/v1/messages"
    client = HttpSmsGateway(SmsSettings(gateway="http", url=url, token_file=token, sender="Bank"))
    try:
        assert client.send("+447700900123", "hello", "ref-1") == "gw-1"
        body, auth = gateway.received[0]
        assert body == {
            "to": "+447700900123",
            "text": "hello",
            "reference": "ref-1",
            "from": "Bank",
        }
        assert auth == "Bearer t0ken"
        gateway.answers.extend([422, 503, 429])
        with pytest.raises(DeliveryError) as refused:
            client.send("+447700900123", "hello", "ref-2")
        assert refused.value.permanent
        for _ in range(2):
            with pytest.raises(DeliveryError) as later:
                client.send("+447700900123", "hello", "ref-3")
            assert not later.value.permanent
    finally:
        client.close()
    down = HttpSmsGateway(
        SmsSettings(gateway="http", url=url.replace(str(gateway.server_address[1]), "1"), timeout=2)
    )
    with pytest.raises(DeliveryError, match="unreachable") as unreachable:
        down.send("+447700900123", "hello", "ref-4")
    assert not unreachable.value.permanent
    down.close()
