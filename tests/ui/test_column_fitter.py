"""The column fitter keeps headings whole while they fit (seen at 1366×768 in the dark
scheme: the transactions' "Description" heading read "Descriptio" beside whole amounts)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from agentdesk.ui.shell_widgets import fit_columns

pytestmark = pytest.mark.gui


def _table(qtbot: QtBot, width: int) -> QTableView:
    model = QStandardItemModel(0, 4)
    model.setHorizontalHeaderLabels(["Date", "Product", "Description", "Amount"])
    for i in range(6):
        model.appendRow(
            [
                QStandardItem(f"0{i + 1} Dec"),
                QStandardItem("Visa •••• 7979 premium"),
                QStandardItem("Card payment at a very long merchant name indeed"),
                QStandardItem("-1,857.00 EUR"),
            ]
        )
    view = QTableView()
    view.setModel(model)
    view.verticalHeader().hide()
    qtbot.addWidget(view)
    view.resize(width, 240)
    view.show()
    qtbot.waitExposed(view)
    fit_columns(view, whole=(3,))
    return view


def _cut_headings(view: QTableView) -> list[str]:
    header = view.horizontalHeader()
    model = view.model()
    return [
        str(model.headerData(c, Qt.Orientation.Horizontal))
        for c in range(header.count())
        if header.sectionSize(c) < header.sectionSizeHint(c)
    ]


def test_headings_stay_whole_while_cells_give_way(qtbot: QtBot) -> None:
    view = _table(qtbot, 280)
    qtbot.waitUntil(lambda: _cut_headings(view) == [], timeout=5000)
    header = view.horizontalHeader()
    assert header.sectionSize(3) >= view.sizeHintForColumn(3)  # the amount, whole
    right = header.sectionViewportPosition(3) + header.sectionSize(3)
    assert right <= view.viewport().width()  # and nothing scrolled out of sight


def test_too_narrow_for_every_heading_still_keeps_every_column_in_sight(qtbot: QtBot) -> None:
    view = _table(qtbot, 200)
    header = view.horizontalHeader()
    assert all(header.sectionSize(c) > 0 for c in range(4))
