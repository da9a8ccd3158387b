"""The transfer dialog's directory (issue 14 item 6): colleagues with presence and queues with
figures in one list, filtered as the agent types, Enter transfers to the highlighted one;
without the server, the PBX's queues and a typed number still work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from agentdesk.client.api import ServerApi, ServerRefused
from agentdesk.client.transfer_directory import (
    BadDirectory,
    DirectoryEntry,
    DirectorySource,
    ServerTransferDirectory,
    TransferDirectory,
    directory_from_json,
)
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.call_dialogs import TransferDialog

SERVER_ANSWER = {
    "site": "lab",
    "sites": [{"site": "lab", "link": "connected"}],
    "detail": "",
    "agents": [
        {"login": "carol", "name": "Carol Agent", "extension": "1003", "site": "lab",
         "presence": "paused", "reason": "Lunch"},
        {"login": "bob", "name": "Bob Agent", "extension": "1002", "site": "lab",
         "presence": "available", "reason": ""},
        {"login": "dan", "name": "Dan Agent", "extension": "1004", "site": "lab",
         "presence": "on_call", "reason": ""},
        {"login": "", "name": "Temp Member", "extension": "", "site": "lab",
         "presence": "logged_off", "reason": ""},
    ],
    "queues": [
        {"name": "sales", "label": "Sales", "site": "lab", "code": "2100", "waiting": 2,
         "available": 1},
        {"name": "cards", "label": "Cards", "site": "lab", "code": "", "waiting": 0,
         "available": 3},
    ],
}  # fmt: skip


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    made = Bridge()
    yield made
    made.shutdown()


def _open(
    qtbot: QtBot, bridge: Bridge, source: DirectorySource, *, attended: bool = False
) -> TransferDialog:
    dialog = TransferDialog(["general", "sales"], attended=attended, source=source, bridge=bridge)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.directory_loaded, timeout=10_000):
        dialog.show()
    qtbot.waitExposed(dialog)
    dialog.search.setFocus()
    return dialog


def _names(dialog: TransferDialog) -> list[str]:
    return [e.name for e in dialog.entries.rows]


def test_the_list_filters_as_the_agent_types_and_enter_transfers_to_the_colleague(
    qtbot: QtBot, bridge: Bridge, qtmodeltester: object
) -> None:
    dialog = _open(qtbot, bridge, lambda: directory_from_json(SERVER_ANSWER))
    # Queues first, then colleagues, the free ones before the busy and the paused.
    assert _names(dialog) == ["Cards", "Sales", "Bob Agent", "Dan Agent", "Carol Agent",
                             "Temp Member"]  # fmt: skip
    statuses = [e.status for e in dialog.entries.rows]
    assert statuses == ["0 waiting · 3 available", "2 waiting · 1 available", "Available",
                        "On a call", "Paused: Lunch", "Logged off"]  # fmt: skip
    assert dialog.note.text() == "" and not dialog.note.isVisible()  # no empty gap
    qtmodeltester.check(dialog.entries)  # type: ignore[attr-defined]

    qtbot.keyClicks(dialog.search, "car")
    assert _names(dialog) == ["Cards", "Carol Agent"]
    qtbot.keyClicks(dialog.search, "ol")
    assert _names(dialog) == ["Carol Agent"]
    assert dialog.selected() is not None and dialog.selected().target == "1003"  # type: ignore[union-attr]
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert dialog.target == "1003"


def test_arrows_move_through_the_list_while_typing_and_presence_is_searchable(
    qtbot: QtBot, bridge: Bridge
) -> None:
    dialog = _open(qtbot, bridge, lambda: directory_from_json(SERVER_ANSWER), attended=True)
    qtbot.keyClicks(dialog.search, "agent")  # every colleague (by name or by kind)
    assert _names(dialog) == ["Bob Agent", "Dan Agent", "Carol Agent", "Temp Member"]
    qtbot.keyClick(dialog.search, Qt.Key.Key_Down)
    assert dialog.search.hasFocus()  # the keyboard stays in the search field
    assert dialog.selected() == dialog.entries.rows[1]
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.keyClick(dialog.search, Qt.Key.Key_Enter)
    assert dialog.target == "1004"

    other = _open(qtbot, bridge, lambda: directory_from_json(SERVER_ANSWER))
    qtbot.keyClicks(other.search, "available")
    assert _names(other) == ["Cards", "Sales", "Bob Agent"]  # "3 available", "Available"


def test_a_queue_without_a_transfer_code_says_so_instead_of_transferring(
    qtbot: QtBot, bridge: Bridge
) -> None:
    dialog = _open(qtbot, bridge, lambda: directory_from_json(SERVER_ANSWER))
    qtbot.keyClicks(dialog.search, "cards")
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert dialog.isVisible() and dialog.target == ""
    assert "Cards queue has no transfer code" in dialog.error.text()
    dialog.search.clear()
    assert dialog.error.text() == ""  # typing again clears it
    qtbot.keyClicks(dialog.search, "temp")
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert (
        dialog.error.text()
        == "Temp Member has no extension known here: type the number to transfer to."
    )
    dialog.search.clear()
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)  # nothing typed, nothing picked
    assert dialog.error.text() == "Pick a colleague or queue, or type a number."


def test_unreachable_server_falls_back_to_the_queues_and_a_typed_number(
    qtbot: QtBot, bridge: Bridge
) -> None:
    api = ServerApi("http://127.0.0.1:1")  # nothing listens on port 1
    try:
        dialog = _open(qtbot, bridge, ServerTransferDirectory(api).load)
    finally:
        api.close()
    assert dialog.note.text() == (
        "No colleague list (the server cannot be reached): type a number, or pick a queue."
    )
    assert dialog.note.isVisible()
    assert _names(dialog) == ["general", "sales"]
    assert [e.status for e in dialog.entries.rows] == ["Queue", "Queue"]
    qtbot.keyClicks(dialog.search, "0770 0900 123")
    assert _names(dialog) == []
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert dialog.target == "07700900123"


def test_a_refusal_or_no_server_falls_back_too(qtbot: QtBot, bridge: Bridge) -> None:
    def refused() -> TransferDirectory:
        raise ServerRefused(500, "", "boom", {})

    dialog = _open(qtbot, bridge, refused)
    assert dialog.note.text().startswith("No colleague list (the server refused it)")
    # No server at all (a desktop on a direct PBX link): the fallback at once.
    alone = TransferDialog(["general"], attended=False)
    qtbot.addWidget(alone)
    assert alone.note.text().startswith("No colleague list (no server to ask)")
    assert _names(alone) == ["general"]


def test_the_site_column_shows_only_with_several_sites(qtbot: QtBot, bridge: Bridge) -> None:
    body = {**SERVER_ANSWER, "sites": [{"site": "lab", "link": "connected"},
                                       {"site": "paris", "link": "connected"}]}  # fmt: skip
    one = _open(qtbot, bridge, lambda: directory_from_json(SERVER_ANSWER))
    assert one.list.isColumnHidden(3)
    two = _open(qtbot, bridge, lambda: directory_from_json(body))
    assert not two.list.isColumnHidden(3)
    assert two.entries.headerData(3, Qt.Orientation.Horizontal) == "Site"


def test_a_site_whose_pbx_link_is_down_is_said_once(qtbot: QtBot, bridge: Bridge) -> None:
    body = {**SERVER_ANSWER, "sites": [{"site": "lab", "link": "disconnected"}]}
    dialog = _open(qtbot, bridge, lambda: directory_from_json(body))
    assert dialog.note.text() == (
        "PBX link down (lab): presence and queue figures may be out of date."
    )
    assert len(dialog.entries.rows) == 6  # still listed: the last known picture


def test_an_unreadable_answer_is_a_clear_error() -> None:
    with pytest.raises(BadDirectory, match="not readable"):
        directory_from_json({"agents": [{"name": "x"}], "queues": []})
    with pytest.raises(BadDirectory):
        directory_from_json("<html>proxy error</html>")


def test_entry_matching_takes_every_word() -> None:
    entry = DirectoryEntry("agent", "Bob Agent", "1002", "lab", presence="available")
    assert entry.matches(["bob", "1002"]) and entry.matches([])
    assert not entry.matches(["bob", "paused"])
