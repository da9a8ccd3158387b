"""``agentdesk sync status|now|resync`` on a real cache and embedded central store."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdesk import vault
from agentdesk.cli import main
from agentdesk.store import migrate
from agentdesk.store.engine import encrypted_sqlite_engine, sqlite_engine
from agentdesk.store.field_crypto import new_key_text
from agentdesk.store.sync import CentralStore, Syncer, SyncScope
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.writer import LocalWriter
from tests.sync.factories import REF, person, seed_reference
from tests.ui_workspace.builders import FIELD_KEYRING


@pytest.fixture
def workstation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalWriter:
    monkeypatch.setenv("AGENTDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AGENTDESK_WORKSTATION", "ws-test")
    monkeypatch.setenv("AGENTDESK_CENTRAL_URL", f"sqlite:///{tmp_path / 'central.db'}")
    key_file = tmp_path / "field.key"
    key_file.write_text(new_key_text())
    key_file.chmod(0o600)
    monkeypatch.setenv("AGENTDESK_FIELD_KEY_FILE", str(key_file))
    central = sqlite_engine(tmp_path / "central.db")
    migrate.upgrade(central)
    seed_reference(central)
    cache = encrypted_sqlite_engine(tmp_path / "cache.db", vault.ensure_cache_key("ws-test"))
    migrate.upgrade(cache)
    scope = SyncScope(team_ids=frozenset({REF.team_a}), agent_id=REF.bob)
    Syncer(LocalStore(cache), CentralStore(central, FIELD_KEYRING), scope, "bob").ensure_filled()
    central.dispose()
    return LocalWriter(cache, "bob")


def test_status_now_and_resync(
    workstation: LocalWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    workstation.write("customer.create", person())
    assert main(["sync", "status"]) == 0
    out = capsys.readouterr().out
    assert "pending:        1 (oldest waiting" in out and "agent:          bob" in out
    assert main(["sync", "now"]) == 0
    assert "pushed 1 (0 rejected)" in capsys.readouterr().out
    assert main(["sync", "status", "--verify"]) == 0
    out = capsys.readouterr().out
    assert "pending:        0" in out and "caught up" in out and "customer" in out
    assert main(["sync", "resync"]) == 0
    assert "pushed 0 pending changes" in capsys.readouterr().out


def test_missing_cache_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTDESK_DATA_DIR", str(tmp_path))
    assert main(["sync", "status"]) == 2
    assert "no local cache" in capsys.readouterr().err


def test_prune_keeps_recent_feed(
    workstation: LocalWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    workstation.write("customer.create", person())
    assert main(["sync", "now"]) == 0
    capsys.readouterr()
    assert main(["sync", "prune", "--days", "30"]) == 0
    assert "removed 0 change-feed rows" in capsys.readouterr().out
    assert main(["sync", "prune", "--days", "0"]) == 2
