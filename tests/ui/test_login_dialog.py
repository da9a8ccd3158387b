"""Sign-in dialog: wrong password, right password, remember-me in the keyring, degraded notes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from agentdesk.services.platform.auth import AuthService, remembered_password
from agentdesk.store.engine import central_engine
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.login_dialog import LoginDialog
from tests.ui.data import PASSWORD, add_agent

pytestmark = pytest.mark.gui


@pytest.fixture
def bridge() -> Any:
    made = Bridge()
    yield made
    made.shutdown()


def dialog(qtbot: Any, auth: AuthService, bridge: Bridge, **kw: Any) -> LoginDialog:
    made = LoginDialog(auth.authenticate, bridge, **kw)
    qtbot.addWidget(made)
    made.show()
    return made


def test_wrong_then_right_password_with_remember_me(
    qtbot: Any, sqlite_central_engine: Engine, bridge: Bridge
) -> None:
    add_agent(sqlite_central_engine)
    box = dialog(qtbot, AuthService(sqlite_central_engine), bridge, keyring_ok=True, login="alice")
    box.password.setText("nope")
    box.submit()
    qtbot.waitUntil(lambda: box.error.text() == "Wrong agent id or password.")
    assert box.password.isEnabled() and box.identity is None
    box.password.setText(PASSWORD)
    box.remember.setChecked(True)
    with qtbot.waitSignal(box.signed_in) as signed:
        box.submit()
    assert signed.args[0].login == "alice" and box.result() == LoginDialog.DialogCode.Accepted
    assert remembered_password("alice") == PASSWORD
    again = dialog(
        qtbot, AuthService(sqlite_central_engine), bridge, keyring_ok=True, login="alice"
    )
    assert again.password.text() == PASSWORD and again.remember.isChecked()


def test_central_down_signs_in_from_the_cache_and_says_so(
    qtbot: Any, tmp_path: Path, sqlite_central_engine: Engine, bridge: Bridge
) -> None:
    add_agent(sqlite_central_engine)  # plays the local cache here
    down = central_engine("postgresql://nobody@127.0.0.1:1/none")
    notes = ["Central database unreachable (connection refused)."]
    box = dialog(
        qtbot,
        AuthService(down, sqlite_central_engine),
        bridge,
        keyring_ok=False,
        login="alice",
        notes=notes,
    )
    assert box.notes.isVisible() and "unreachable" in box.notes.text()
    assert not box.remember.isEnabled() and "keyring" in box.remember.toolTip()
    box.password.setText(PASSWORD)
    with qtbot.waitSignal(box.signed_in) as signed:
        box.submit()
    assert signed.args[0].source == "local" and "cache" in (box.remember_problem or "")
    down.dispose()


def test_unreachable_everything_is_a_clear_error(qtbot: Any, bridge: Bridge) -> None:
    down = central_engine("postgresql://nobody@127.0.0.1:1/none")
    box = dialog(qtbot, AuthService(down, None), bridge, keyring_ok=True, login="alice")
    box.password.setText("whatever")
    box.submit()
    qtbot.waitUntil(lambda: "central database is unreachable" in box.error.text())
    down.dispose()
