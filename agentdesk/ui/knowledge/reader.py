"""Reading one knowledge article: title, version and review state, the rendered body.

The body arrives as HTML the knowledge service rendered with raw HTML, images
and unsafe links switched off. The viewer adds its own guards: it never loads
a resource (no file, no remote address, whatever the HTML says) and it never
follows a link itself; an ``http``/``https``/``mailto`` link is opened by the
system only when clicked.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.knowledge.service import ArticleView
from agentdesk.ui import format as fmt

_OPENABLE = ("http", "https", "mailto")


class SafeBrowser(QTextBrowser):
    """A read-only rich-text view that loads nothing and follows no link on its own."""

    link_refused = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor_clicked)

    def loadResource(self, kind: int, name: QUrl | str) -> Any:
        return None  # no images, style sheets or files, from anywhere

    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme().lower() in _OPENABLE:
            QDesktopServices.openUrl(url)
        else:
            self.link_refused.emit(url.toString()[:80])


class ArticleReader(QFrame):
    """Shows one article version; "Answered with this article" cites it on the wrap-up."""

    cite_requested = Signal(object)  # ArticleView

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("knowledgeReader")
        self.article: ArticleView | None = None
        self.title = fmt.plain(QLabel(self))
        self.title.setObjectName("knowledgeTitle")
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        self.meta = fmt.plain(QLabel(self))
        self.meta.setWordWrap(True)
        self.stale = fmt.plain(QLabel(self))
        self.stale.setObjectName("knowledgeStale")
        self.stale.setWordWrap(True)
        self.stale.setStyleSheet("color: #9a3412; font-weight: 600;")
        self.stale.hide()
        self.body = SafeBrowser(self)
        self.body.setObjectName("knowledgeBody")
        self.cite = QPushButton("Answered with this article", self)
        self.cite.setEnabled(False)
        self.note = fmt.plain(QLabel(self))
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.meta)
        layout.addWidget(self.stale)
        layout.addWidget(self.body, 1)
        row = QHBoxLayout()
        row.addWidget(self.note, 1)
        row.addWidget(self.cite)
        layout.addLayout(row)
        self.cite.clicked.connect(self._on_cite_clicked)
        self.body.link_refused.connect(
            lambda url: self.note.setText(f"That link is not opened from agentdesk: {url}")
        )
        self.show_nothing()

    def show_nothing(self) -> None:
        self.article = None
        self.title.setText("Pick an article to read it here.")
        self.meta.clear()
        self.stale.hide()
        self.body.clear()
        self.cite.setEnabled(False)

    def show_article(self, article: ArticleView) -> None:
        self.article = article
        self.title.setText(fmt.display_text(article.title))
        parts = [f"Version {article.version}"]
        if article.version != article.latest_version:
            parts[0] += f" (current is {article.latest_version})"
        if article.owner:
            parts.append(f"owner {fmt.display_text(article.owner)}")
        if article.review_due is not None:
            parts.append(f"review by {article.review_due:%d %b %Y}")
        self.meta.setText(" · ".join(parts))
        if article.retired:
            self.stale.setText("Retired: do not use this article for new answers.")
        elif article.stale:
            self.stale.setText(
                f"Review overdue since {article.review_due:%d %b %Y}: check it with "
                "the owner or a supervisor before reading it out."
            )
        self.stale.setVisible(article.retired or article.stale)
        self.body.setHtml(article.html)
        self.note.clear()
        self.cite.setEnabled(not article.retired)

    def set_cited(self, cited: bool) -> None:
        """Say whether the article shown is the one on the current wrap-up."""
        if self.article is not None and cited:
            self.note.setText(f"On the wrap-up: version {self.article.version}.")

    def _on_cite_clicked(self) -> None:
        if self.article is not None:
            self.cite_requested.emit(self.article)
