"""The knowledge panel beside a call: suggestions for the call, a search box, the reader.

When a call pops, the panel asks the knowledge service (on the local lane: the
cache holds the whole knowledge base) for articles about the call's IVR intent
and the caller's products; typing in the box searches instead. Every query runs
off the GUI thread; a result that arrives after a newer request is dropped.
Bad search text (empty, too long, punctuation only) gets the service's sentence
under the box, and the list keeps what it showed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.knowledge.query import KnowledgeQueryError
from agentdesk.services.knowledge.service import (
    ArticleHit,
    ArticleList,
    ArticleView,
    KnowledgeService,
)
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.change_bus import Changes
from agentdesk.ui.knowledge.reader import ArticleReader
from agentdesk.ui.row_model import ROW_ROLE, Column, RowTableModel

KNOWLEDGE_KINDS = ("knowledge_article", "knowledge_article_version")


def _line(hit: ArticleHit) -> str:
    flag = "⚠ Review overdue · " if hit.stale else ""
    second = hit.reason or hit.excerpt
    # U+2028, not "\n": the item delegate paints a line separator as a new line.
    return f"{flag}{fmt.display_text(hit.title)}\u2028{fmt.display_text(second)}"


HIT_COLUMNS = (Column[ArticleHit]("Article", _line, tooltip=lambda h: h.excerpt),)


@dataclass(frozen=True)
class CallTopic:
    """What the current call is about, as far as suggestions care."""

    linkedid: str
    intent: str | None
    language: str | None
    customer_id: uuid.UUID | None
    products: tuple[str, ...] | None  # from the pop's card; None: read from the cache


class KnowledgePanel(QWidget):
    """Suggestions for the current call, a search box and the article reader."""

    results_shown = Signal(object)  # ArticleList
    article_shown = Signal(object)  # ArticleView
    article_cited = Signal(object)  # ArticleView

    def __init__(
        self, bridge: Bridge, service: KnowledgeService, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("knowledgePanel")
        self._bridge = bridge
        self._service = service
        self._topic: CallTopic | None = None
        self._request = 0  # the newest list request; older answers are dropped
        self.editor_dialog: QWidget | None = None  # editors' last article dialog
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self.hits = RowTableModel[ArticleHit](HIT_COLUMNS, parent=self)
        self._build()
        self._connect_signals()
        self.heading.setText("Suggestions appear here when a call comes in.")

    def _build(self) -> None:
        self.heading = fmt.plain(QLabel(self))
        self.heading.setObjectName("knowledgeHeading")
        self.heading.setWordWrap(True)
        self.box = QLineEdit(self)
        self.box.setObjectName("knowledgeSearch")
        self.box.setPlaceholderText("Search articles (Enter); empty: this call's suggestions")
        self.box.setClearButtonEnabled(True)
        self.message = fmt.plain(QLabel(self))
        self.message.setObjectName("knowledgeMessage")
        self.message.setWordWrap(True)
        self.list = QListView(self)
        self.list.setObjectName("knowledgeList")
        self.list.setModel(self.hits)
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSpacing(2)  # two-line items must not run into each other
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.reader = ArticleReader(self)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.list)
        split.addWidget(self.reader)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setChildrenCollapsible(False)
        self.editing_row = QHBoxLayout()  # editors' buttons (install adds them)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(self.editing_row)
        layout.addWidget(self.heading)
        layout.addWidget(self.box)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

    def _connect_signals(self) -> None:
        self.box.returnPressed.connect(self._on_box_return_pressed)
        self.box.textChanged.connect(self._on_box_text_changed)
        self._search_timer.timeout.connect(self.search_now)
        self.list.activated.connect(self._on_list_activated)
        self.list.clicked.connect(self._on_list_activated)
        self.reader.cite_requested.connect(self.article_cited)

    # ------------------------------------------------------------------ public
    @property
    def topic(self) -> CallTopic | None:
        return self._topic

    def show_call(self, topic: CallTopic) -> None:
        """A call popped (or its caller was identified): suggest for it."""
        if topic == self._topic:
            return
        self._topic = topic
        what = topic.intent.replace("_", " ") if topic.intent else "not said by the IVR"
        self.heading.setText(f"For this call — topic: {fmt.display_text(what)}")
        if not self.box.text().strip():
            self.suggest_now()

    def suggest_now(self) -> None:
        topic = self._topic
        if topic is None:
            return
        self._request += 1
        self._bridge.submit(
            self._service.suggest,
            topic.intent,
            topic.customer_id,
            topic.language,
            8,
            topic.products,
            on_done=self._answer(self._request),
            on_error=self._failed(self._request),
        )

    def search_now(self) -> None:
        text = self.box.text()
        self._search_timer.stop()
        if not text.strip() and self._topic is not None:
            self.suggest_now()
            return
        self._request += 1
        self._bridge.submit(
            self._service.search,
            text,
            on_done=self._answer(self._request),
            on_error=self._failed(self._request),
        )

    def open_article(self, article_id: uuid.UUID, version: int | None = None) -> None:
        def shown(article: ArticleView | None) -> None:
            if article is None:
                self.message.setText("That article is no longer in this desktop's copy.")
                return
            self.reader.show_article(article)
            self.article_shown.emit(article)

        self._bridge.submit(
            self._service.article,
            article_id,
            version,
            on_done=shown,
            on_error=lambda exc: self.message.setText(f"Could not open the article: {exc}"),
        )

    def show_overdue(self) -> None:
        """List the articles past their review date (editors), most overdue first."""
        self._request += 1
        request = self._request

        def done(hits: tuple[ArticleHit, ...]) -> None:
            message = "" if hits else "No article is past its review date."
            self._answer(request)(ArticleList(hits, 0.0, message))

        self._bridge.submit(self._service.stale, on_done=done, on_error=self._failed(request))

    def apply_changes(self, changes: Changes) -> None:
        """An article was published, reviewed or retired (here or elsewhere): refresh."""
        if not changes.touches(*KNOWLEDGE_KINDS):
            return
        if self.box.text().strip():
            self.search_now()
        else:
            self.suggest_now()
        shown = self.reader.article
        if shown is not None and (
            changes.everything or shown.id in changes.ids(KNOWLEDGE_KINDS[0])
        ):
            self.open_article(shown.id)

    # ------------------------------------------------------------------ internals
    def _answer(self, request: int):  # type: ignore[no-untyped-def]
        def done(result: ArticleList) -> None:
            if request != self._request:
                return  # a newer search or call has been asked for
            self.hits.set_rows(result.hits)
            self.message.setText(result.message)
            self.results_shown.emit(result)

        return done

    def _failed(self, request: int):  # type: ignore[no-untyped-def]
        def failed(exc: BaseException) -> None:
            if request != self._request:
                return
            if isinstance(exc, KnowledgeQueryError):
                self.message.setText(str(exc))  # the list keeps what it showed
            else:
                self.message.setText(f"The knowledge base could not be read: {exc}")

        return failed

    def _on_box_return_pressed(self) -> None:
        self.search_now()

    def _on_box_text_changed(self, text: str) -> None:
        if not text.strip():
            self._search_timer.stop()
            self.message.clear()
            self.suggest_now()
        elif len(text.strip()) >= 3:
            self._search_timer.start()  # as-you-type, after a short pause

    def _on_list_activated(self, index: QModelIndex) -> None:
        hit = self.hits.data(index, ROW_ROLE)
        if isinstance(hit, ArticleHit):
            self.open_article(hit.id)
