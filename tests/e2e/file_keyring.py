"""A keyring backend for end-to-end tests only: secrets in a JSON file in the test's temp dir.

CI machines are headless and have no OS keyring. The desktop process and the
test must share the AMI secret, the remembered agent password and the cache
key the way a site's OS keyring would let them, so the end-to-end test points
``PYTHON_KEYRING_BACKEND`` at this class. Never used outside tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.backend
import keyring.errors

ENV = "AGENTDESK_TEST_KEYRING"


class FileKeyring(keyring.backend.KeyringBackend):
    """Reads and writes ``$AGENTDESK_TEST_KEYRING`` (a JSON object of service/user → secret)."""

    priority = 1  # type: ignore[assignment]

    @staticmethod
    def _path() -> Path:
        return Path(os.environ[ENV])

    def _load(self) -> dict[str, str]:
        path = self._path()
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._path().write_text(json.dumps(data), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise keyring.errors.PasswordDeleteError(username)
        self._path().write_text(json.dumps(data), encoding="utf-8")
