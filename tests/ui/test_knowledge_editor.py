"""The editor's article dialog on a real cache: refusals shown in words with nothing lost,
a new article and its next version published, and a concurrent version refused."""

from __future__ import annotations

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
