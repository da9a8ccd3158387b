"""Plugs the knowledge panel into the main window: a Knowledge pane beside the call.

A pane of its own (tabbed with the call pane, on the utility strip), not a page of the
call pane: the call pane folds away between calls, and agents and editors read and
search articles then too. Its tab says how many articles the last list holds.

The panel follows the controller's pops (intent, language, the caller's products
from the pop card) and the change bus (articles published anywhere); "Answered
with this article" goes to the wrap-up form, which files it on the interaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtWidgets import QPushButton

from agentdesk.services.desk.session import PopContent
from agentdesk.services.knowledge.editor import KnowledgeEditor
from agentdesk.services.knowledge.service import ArticleList, ArticleView, KnowledgeService
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.change_bus import ChangeBus
from agentdesk.ui.knowledge.editor import ArticleEditorDialog
from agentdesk.ui.knowledge.panel import CallTopic, KnowledgePanel

TITLE = "Knowledge"


def topic_of(pop: PopContent) -> CallTopic:
    """What a pop says the call is about: IVR intent and language, the caller's products."""
    card = pop.match.card
    customer = pop.chosen or pop.match.customer_id
    products = tuple(p.kind for p in card.products) if card is not None and card.products else None
    return CallTopic(pop.linkedid, pop.call.ivr.intent, pop.call.ivr.language, customer, products)


def install_knowledge(
    window: Any,
    bridge: Bridge,
    service: KnowledgeService,
    changes: ChangeBus | None = None,
    editor: KnowledgeEditor | None = None,
) -> KnowledgePanel:
    """Add the Knowledge pane to ``window`` and wire it to pops, the wrap-up and changes.

    ``editor`` (editors and admins only) adds "New article…" and "Edit…" to the panel.
    """
    panel = KnowledgePanel(bridge, service)
    dock = window.add_dock("knowledgeDock", TITLE, panel)

    def on_pop(pop: PopContent) -> None:
        panel.show_call(topic_of(pop))

    def on_results(result: ArticleList) -> None:
        count = len(result.hits)
        dock.setWindowTitle(f"{TITLE} ({count})" if count else TITLE)

    def on_cited(article: ArticleView) -> None:
        cited = window.wrapup.cite_article(str(article.id), article.version, article.title)
        if cited:
            panel.reader.set_cited(True)
        else:
            panel.reader.note.setText("No call to cite it on: answer or wrap up a call first.")

    if editor is not None:
        _add_editing(window, bridge, panel, editor)
    window.controller.pop_shown.connect(on_pop)
    panel.results_shown.connect(on_results)
    panel.article_cited.connect(on_cited)
    if changes is not None:
        changes.changed.connect(panel.apply_changes)
    return panel


def _add_editing(
    window: Any, bridge: Bridge, panel: KnowledgePanel, editor: KnowledgeEditor
) -> None:
    new = QPushButton("New article…", panel)
    edit = QPushButton("Edit…", panel)
    reviewed = QPushButton("Reviewed", panel)
    reviewed.setToolTip("The article shown is still right: next review in a year")
    overdue = QPushButton("Overdue reviews", panel)
    for button in (edit, reviewed):
        button.setEnabled(False)
    for button in (new, edit, reviewed, overdue):
        panel.editing_row.addWidget(button)
    panel.editing_row.addStretch(1)

    def mark_reviewed() -> None:
        article = panel.reader.article
        if article is None:
            return
        due = dt.date.today() + dt.timedelta(days=365)

        def done(_none: None) -> None:
            panel.message.setText(f"Reviewed; next review by {due:%d %b %Y}.")
            panel.open_article(article.id)

        bridge.submit(
            editor.review,
            article.id,
            due,
            on_done=done,
            on_error=lambda exc: panel.message.setText(f"Not saved: {exc}"),
        )

    def open_editor(article: ArticleView | None) -> None:
        dialog = ArticleEditorDialog(bridge, editor, article, window)
        dialog.published.connect(lambda done: panel.open_article(done.article_id))
        panel.editor_dialog = dialog  # the last one opened (tests reach it here)
        dialog.open()

    new.clicked.connect(lambda: open_editor(None))
    edit.clicked.connect(lambda: open_editor(panel.reader.article))
    reviewed.clicked.connect(mark_reviewed)
    overdue.clicked.connect(panel.show_overdue)

    def on_article_shown(_article: ArticleView) -> None:
        edit.setEnabled(True)
        reviewed.setEnabled(True)

    panel.article_shown.connect(on_article_shown)
