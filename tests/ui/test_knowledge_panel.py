"""The Knowledge tab beside a call, on the real desktop through the server: suggestions for
the call's IVR intent, reading an article safely, "Answered with this article" filed on the
interaction with the article's version, and bad search text answered with a sentence."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from PySide6.QtWidgets import QDockWidget
from sqlalchemy import Engine, select

from agentdesk.ids import uuid7
from agentdesk.models import Interaction, KnowledgeArticle, KnowledgeArticleVersion
from agentdesk.services.desk.screen_pop import ChangeKind
from agentdesk.store.engine import read_session, write_session
from agentdesk.ui.knowledge.panel import KnowledgePanel
from tests.ui.data import add_customer

pytestmark = pytest.mark.gui


def add_article(
    central: Engine, title: str, body: str, intents: str, review_due: dt.date | None = None
) -> uuid.UUID:
    ident, now = uuid7(), dt.datetime.now(dt.UTC)
    common = {
        "title": title,
        "body": body,
        "tags": "",
        "intents": intents,
        "products": "card",
        "language": "en",
    }
    with write_session(central) as s:
        s.add(
            KnowledgeArticle(
                id=ident,
                **common,
                review_due=review_due,
                status="published",
                published_version=1,
                version=1,
                updated_at=now,
            )
        )
        s.flush()
        s.add(
            KnowledgeArticleVersion(
                id=uuid7(), article_id=ident, number=1, **common, published_at=now
            )
        )
    return ident


def _panel(window: Any) -> KnowledgePanel:
    panel = window.findChild(KnowledgePanel)
    assert panel is not None
    return panel


def test_a_call_gets_suggestions_and_the_wrap_up_cites_the_article_read(
    desk_factory: Any, qtmodeltester: Any
) -> None:
    ids: dict[str, Any] = {}

    def seed(central: Engine) -> None:
        ids["ada"] = add_customer(central, "Ada Lovelace", "+447700900123")
        ids["lost"] = add_article(
            central,
            "Lost or stolen card",
            "**Block** the card in Cards.\n\n<script>alert(1)</script> [x](javascript:alert(1))",
            "card_lost",
        )
        ids["old"] = add_article(
            central,
            "Lost card (old process)",
            "Phone the card centre.",
            "card_lost",
            review_due=dt.date(2020, 1, 1),
        )

    desk = desk_factory(seed=seed)
    window, qtbot, actions = desk.window, desk.qtbot, desk.window.actions_by_id
    panel = _panel(window)
    qtmodeltester.check(panel.hits)
    with qtbot.waitSignal(panel.results_shown, timeout=10_000) as shown:
        placed = desk.call("+447700900123", intent="card_lost")
    assert [h.id for h in shown.args[0].hits] == [ids["lost"], ids["old"]]
    assert panel.heading.text() == "For this call — topic: card lost"
    dock = window.findChild(QDockWidget, "knowledgeDock")
    assert dock is not None and dock.windowTitle() == "Knowledge (2)"
    stale_line = panel.hits.data(panel.hits.index(1, 0))
    assert stale_line.startswith("⚠ Review overdue · Lost card (old process)")

    dock.raise_()
    with qtbot.waitSignal(panel.article_shown, timeout=10_000):
        panel.list.clicked.emit(panel.hits.index(0, 0))
    reader = panel.reader
    assert reader.title.text() == "Lost or stolen card"
    html = reader.body.toHtml()
    assert 'href="javascript' not in html and "<script" not in html.replace("&lt;script", "")
    # The markup is shown as the text it is, and the unsafe link is no link.
    assert "<script>alert(1)</script> [x](javascript:alert(1))" in reader.body.toPlainText()
    # Nothing to cite it on yet: the call is ringing.
    qtbot.mouseClick(reader.cite, qtbot_button())
    assert "No call to cite it on" in reader.note.text()

    desk.wait_pop(placed)
    with qtbot.waitSignal(
        desk.controller.wrapups.call_changed,
        check_params_cb=lambda c: c.kind is ChangeKind.CONNECTED,
        timeout=10_000,
    ):
        actions["answer"].trigger()
    qtbot.mouseClick(reader.cite, qtbot_button())
    form = window.wrapup
    assert form.article.text() == "Lost or stolen card (version 1)"
    assert reader.note.text() == "On the wrap-up: version 1."
    with qtbot.waitSignal(desk.controller.wrapups.started, timeout=10_000):
        actions["hangup"].trigger()
    assert form.article.text() == "Lost or stolen card (version 1)"  # carried into ACW
    form.set_disposition("resolved")
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        form.save()
    with read_session(desk.stores.local) as s:
        row = s.get(Interaction, saved.args[0].interaction_id)
        assert row is not None
        assert (row.knowledge_article_id, row.knowledge_version) == (ids["lost"], 1)

    # And at the centre, once the outbox has gone out.
    def filed() -> bool:
        with read_session(desk.central) as s:
            cited = s.scalar(
                select(Interaction.knowledge_article_id).where(
                    Interaction.id == saved.args[0].interaction_id
                )
            )
        assert cited == ids["lost"]
        return True

    qtbot.waitUntil(filed, timeout=15_000)


def qtbot_button() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_bad_search_text_gets_a_sentence_and_the_list_is_kept(desk_factory: Any) -> None:
    def seed(central: Engine) -> None:
        add_article(central, "Replacement card", "Order it in Cards.", "card_lost")

    desk = desk_factory(seed=seed)
    panel, qtbot = _panel(desk.window), desk.qtbot
    panel.parentWidget().raise_()
    qtbot.waitUntil(panel.isVisible, timeout=5_000)  # reachable with no call at all
    with qtbot.waitSignal(panel.results_shown, timeout=10_000) as shown:
        qtbot.keyClicks(panel.box, "replacem")
        qtbot.keyClick(panel.box, "\r")
    assert [h.title for h in shown.args[0].hits] == ["Replacement card"]
    for text, words in (("?!?", "punctuation alone"), ("x" * 300, "the limit is 200")):
        panel.box.setText(text)
        panel.search_now()
        qtbot.waitUntil(lambda w=words: w in panel.message.text(), timeout=10_000)
        assert panel.hits.rowCount() == 1  # what was found stays
    with qtbot.waitSignal(panel.results_shown, timeout=10_000) as none:
        panel.box.setText("mortgage")
        panel.search_now()
    assert none.args[0].hits == ()
    assert panel.message.text() == "No article contains “mortgage”."
