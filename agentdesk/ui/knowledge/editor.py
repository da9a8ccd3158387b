"""The editor's dialog: write a new article or the next version of one, and publish it.

Shown only to editors and admins (the server refuses anyone else's publish). The
publish runs on the local lane; a refusal (HTML in the body, an unknown product,
someone else published meanwhile) is shown under the form with the field focused,
and the dialog stays open with everything typed.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.knowledge.editor import (
    LANGUAGES,
    ArticleDraft,
    KnowledgeEditor,
    Published,
)
from agentdesk.services.knowledge.service import ArticleView
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge


class ArticleEditorDialog(QDialog):
    """Edits one article draft; ``published`` carries the :class:`Published` result."""

    published = Signal(object)

    def __init__(
        self,
        bridge: Bridge,
        editor: KnowledgeEditor,
        article: ArticleView | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("articleEditor")
        self._bridge = bridge
        self._editor = editor
        self._article = article
        self.setWindowTitle(
            "New article" if article is None else f"Edit article — version {article.latest_version}"
        )
        self.title = QLineEdit(self)
        self.intents = QLineEdit(self)
        self.intents.setPlaceholderText("IVR intents, e.g. card_lost balance")
        self.products = QLineEdit(self)
        self.products.setPlaceholderText("card current savings loan mortgage deposit …")
        self.language = QComboBox(self)
        self.language.addItems(LANGUAGES)
        self.review = QDateEdit(self)
        self.review.setCalendarPopup(True)
        self.review.setDisplayFormat("dd MMM yyyy")
        self.review.setDate(QDate.currentDate().addYears(1))
        self.body = QPlainTextEdit(self)
        self.body.setPlaceholderText("The answer, in Markdown: **bold**, lists, [links](https://…)")
        self.note = QLineEdit(self)
        self.note.setPlaceholderText("What changed (kept with the version)")
        self.error = fmt.plain(QLabel(self))
        self.error.setObjectName("articleEditorError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b91c1c;")
        self.buttons = QDialogButtonBox(self)
        self.publish_button = self.buttons.addButton(
            "Publish", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        form = QFormLayout()
        form.addRow("&Title", self.title)
        form.addRow("&Intents", self.intents)
        form.addRow("&Products", self.products)
        form.addRow("&Language", self.language)
        form.addRow("&Review by", self.review)
        form.addRow("&Body", self.body)
        form.addRow("&Change note", self.note)
        layout = QVBoxLayout(self)
        layout.addLayout(form, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.publish)
        self.buttons.rejected.connect(self.reject)
        if article is not None:
            self._fill(article)
        self.resize(640, 560)

    def _fill(self, article: ArticleView) -> None:
        self.title.setText(article.title)
        self.intents.setText(" ".join(article.intents))
        self.products.setText(" ".join(article.products))
        self.language.setCurrentText(article.language)
        if article.review_due is not None:
            due = article.review_due
            self.review.setDate(QDate(due.year, due.month, due.day))
        self.body.setPlainText(article.body)

    def draft(self) -> ArticleDraft:
        due = self.review.date()
        return ArticleDraft(
            title=self.title.text(),
            body=self.body.toPlainText(),
            intents=self.intents.text(),
            products=self.products.text(),
            language=self.language.currentText(),
            review_due=dt.date(due.year(), due.month(), due.day()),
            note=self.note.text(),
            article_id=self._article.id if self._article else None,
            base_version=self._article.latest_version if self._article else 0,
            owner_id=self._article.owner_id if self._article else None,
        )

    def publish(self) -> None:
        self.error.setText("Publishing…")
        self.publish_button.setEnabled(False)
        self._bridge.submit(
            self._editor.publish, self.draft(), on_done=self._on_done, on_error=self._on_error
        )

    def _on_done(self, result: Published) -> None:
        self.publish_button.setEnabled(True)
        self.error.clear()
        self.published.emit(result)
        self.accept()

    def _on_error(self, exc: BaseException) -> None:
        self.publish_button.setEnabled(True)
        self.error.setText(f"Not published: {exc}")
        target = {
            "title": self.title,
            "body": self.body,
            "intents": self.intents,
            "products": self.products,
            "language": self.language,
            "review_due": self.review,
            "note": self.note,
        }.get(getattr(exc, "field", None) or "")
        if target is not None:
            target.setFocus()
