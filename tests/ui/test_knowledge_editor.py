"""The editor's article dialog on a real cache: refusals shown in words with nothing lost,
a new article and its next version published, and a concurrent version refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from agentdesk.models import Role
from agentdesk.services.knowledge.editor import KnowledgeEditor
from agentdesk.services.knowledge.service import KnowledgeService
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.knowledge.editor import ArticleEditorDialog
from tests.sync.conftest import make_cache

pytestmark = pytest.mark.gui


@dataclass(frozen=True)
class Who:
    login: str
    role: Role


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Engine]:
    engine = make_cache(tmp_path / "cache.db")
    yield engine
    engine.dispose()


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    made = Bridge()
    yield made
    made.shutdown()


def _dialog(
    qtbot: QtBot, bridge: Bridge, cache: Engine, article: object = None
) -> ArticleEditorDialog:
    editor = KnowledgeEditor(LocalWriter(cache, "erin"), Who("erin", Role.EDITOR))
    dialog = ArticleEditorDialog(bridge, editor, article)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_a_refused_body_is_explained_and_kept_then_published(
    qtbot: QtBot, bridge: Bridge, cache: Engine
) -> None:
    dialog = _dialog(qtbot, bridge, cache)
    qtbot.keyClicks(dialog.title, "Lost card")
    qtbot.keyClicks(dialog.intents, "card_lost")
    qtbot.keyClicks(dialog.products, "card")
    dialog.body.setPlainText("Block it. <script>steal()</script>")
    dialog.publish_button.click()
    qtbot.waitUntil(lambda: "contains HTML" in dialog.error.text(), timeout=10_000)
    assert dialog.isVisible() and dialog.body.hasFocus()
    assert dialog.body.toPlainText() == "Block it. <script>steal()</script>"  # nothing lost
    dialog.body.setPlainText("**Block** it in Cards.")
    with qtbot.waitSignal(dialog.published, timeout=10_000) as done:
        dialog.publish_button.click()
    assert done.args[0].number == 1 and not dialog.isVisible()
    service = KnowledgeService(cache)
    assert [h.title for h in service.suggest("card_lost").hits] == ["Lost card"]

    current = service.article(done.args[0].article_id)
    assert current is not None
    second, stale = _dialog(qtbot, bridge, cache, current), _dialog(qtbot, bridge, cache, current)
    second.body.setPlainText("**Block** it in Cards, then order a new one.")
    qtbot.keyClicks(second.note, "new card step")
    with qtbot.waitSignal(second.published, timeout=10_000) as again:
        second.publish_button.click()
    assert again.args[0].number == 2
    stale.body.setPlainText("Mine")
    stale.publish_button.click()
    qtbot.waitUntil(
        lambda: "version 2 of this article was published" in stale.error.text(), timeout=10_000
    )
    assert stale.isVisible() and stale.body.toPlainText() == "Mine"
    latest = service.article(done.args[0].article_id)
    assert latest is not None and latest.version == 2
    assert [v.note for v in latest.versions] == ["new card step", None]


def test_an_editor_lists_overdue_reviews_and_marks_one_reviewed(
    qtbot: QtBot, bridge: Bridge, cache: Engine
) -> None:
    from PySide6.QtWidgets import QPushButton, QWidget

    from agentdesk.services.knowledge.editor import ArticleDraft
    from agentdesk.ui.knowledge.install import _add_editing
    from agentdesk.ui.knowledge.panel import KnowledgePanel

    editor = KnowledgeEditor(LocalWriter(cache, "erin"), Who("erin", Role.EDITOR))
    old = editor.publish(
        ArticleDraft(
            "Old fees", "Fees as of 2020.", intents="card_fees", review_due=dt.date(2020, 1, 1)
        )
    )
    editor.publish(ArticleDraft("New fees", "Fees now.", intents="card_fees"))
    host = QWidget()
    qtbot.addWidget(host)
    panel = KnowledgePanel(bridge, KnowledgeService(cache), host)
    _add_editing(host, bridge, panel, editor)
    buttons = {b.text(): b for b in panel.findChildren(QPushButton)}
    assert not buttons["Reviewed"].isEnabled()  # nothing shown yet
    with qtbot.waitSignal(panel.results_shown, timeout=10_000) as listed:
        buttons["Overdue reviews"].click()
    assert [h.id for h in listed.args[0].hits] == [old.article_id]
    with qtbot.waitSignal(panel.article_shown, timeout=10_000):
        panel.list.clicked.emit(panel.hits.index(0, 0))
    assert panel.reader.stale.text().startswith("Review overdue since 01 Jan 2020")
    buttons["Reviewed"].click()
    qtbot.waitUntil(
        lambda: panel.message.text().startswith("Reviewed; next review by"), timeout=10_000
    )
    assert KnowledgeService(cache).stale() == ()
    with qtbot.waitSignal(panel.results_shown, timeout=10_000) as again:
        buttons["Overdue reviews"].click()
    assert again.args[0].message == "No article is past its review date."
