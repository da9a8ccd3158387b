"""``agentdesk demo`` from nothing: seeds an empty store, rings the demo agent within seconds,
and leaves no card number and no identity number in clear in any file it wrote."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from agentdesk.models import CustomerPhone, IdentityDocument
from agentdesk.store.central import open_embedded
from agentdesk.store.engine import read_session
from agentdesk.store.field_crypto import FieldKeyring, field_context
from tests.e2e.test_desktop_e2e import AGENTDESK, Process
from tests.test_no_clear_card_data import card_like_numbers, without_known_numbers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_starts_from_an_empty_directory_and_calls_arrive(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AGENTDESK_", "PYTHON_KEYRING"))
    }
    env.update(
        {
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
        }
    )
    demo = Process(
        [
            *AGENTDESK,
            "demo",
            "--data-dir",
            str(tmp_path / "demo"),
            "--customers",
            "300",
            "--auto-answer",
            "--acw-limit",
            "1",
        ],
        env,
        tmp_path / "demo.log",
    )
    try:
        demo.expect(r"seeding 300 demo customers", 60)
        # The demo's mail gateway: customer e-mail is really sent, to a sink on loopback.
        demo.expect(r"mail sink on 127\.0\.0\.1:\d+; customer e-mail kept in ", 60)
        demo.expect(r"PBX simulator on 127\.0\.0\.1:\d+; signed in as Alice Agent", 60)
        offered = demo.expect(r"call (\S+) offered", 30)  # the first call skips the IVR
        call = re.escape(offered.group(1))
        # Painted and answered (auto-answer: PJSIPNotify Event=talk) land in either order.
        pattern = (
            rf"(?P<painted>screen pop painted): call {call}|call {call} (?P<answered>connected)"
        )
        seen = {demo.expect(pattern, 30).lastgroup for _ in range(2)}
        assert seen == {"painted", "answered"}
    finally:
        code = demo.stop()
    assert code == 0
    log = (tmp_path / "demo.log").read_text(encoding="utf-8")
    # This CI box has no OS keyring: the demo says so and keeps secrets in memory.
    assert "No OS keyring backend" in log or "keyring" not in log.lower()
    _no_clear_card_or_identity_numbers(tmp_path)


def _no_clear_card_or_identity_numbers(root: Path) -> None:
    """Every file the demo wrote (store, WAL, cache, config, its log) scanned byte by byte."""
    demo = root / "demo"
    key_file = demo / "field.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    keys = FieldKeyring.from_file(key_file)
    # The embedded store is SQLCipher-encrypted; its key sits beside it (0600).
    engine = open_embedded(demo / "central.db", demo / "central.key")
    try:
        with read_session(engine) as s:
            docs = s.execute(select(IdentityDocument)).scalars().all()
            numbers = {
                keys.decrypt(d.number_enc, field_context("identity_document", "number", d.id))
                for d in docs
                if d.number_enc is not None
            }
            phones = {
                text.encode()
                for row in s.execute(select(CustomerPhone.number_raw, CustomerPhone.e164))
                for text in row
                if text
            }
    finally:
        engine.dispose()
    assert len(numbers) > 10
    keys_on_disk = {key_file, demo / "central.key"}
    assert oct((demo / "central.key").stat().st_mode & 0o777) == "0o600"
    written = [p for p in root.rglob("*") if p.is_file() and p not in keys_on_disk]
    # Without an OS keyring (this box) the desktop's cache is a session-only temporary file,
    # removed at exit; the store, its WAL, the config and the log are what stays.
    assert {"central.db", "demo.log"} <= {p.name for p in written}
    for path in written:
        content = path.read_bytes()
        cards = card_like_numbers(without_known_numbers(content, phones))
        assert not cards, f"{path} holds card-like numbers {sorted(cards)[:3]}"
        leaked = [n for n in numbers if n.encode() in content]
        assert not leaked, f"{path} holds identity numbers in clear, e.g. {leaked[0]}"
