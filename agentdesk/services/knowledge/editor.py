"""Writing the knowledge base: publish a version, confirm a review date, retire an article.

Each is one ``knowledge.*`` mutation through the local writer: the editor's cache
shows the change at once, the outbox carries it to the server, which authorises
it again (``server/authz.py``) and sends the article to every desktop. The role
check here is the desktop's courtesy; the mutator checks the article's shape on
both sides, and refusals come back as :class:`KnowledgeEditError` naming the field.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from agentdesk.ids import uuid7
from agentdesk.services.platform.roles import Capability, Session, require
from agentdesk.store.mutation_args.base import rejecting
from agentdesk.store.mutation_args.knowledge import LANGUAGES as LANGUAGES
from agentdesk.store.mutation_args.knowledge import (
    KnowledgePublish,
    KnowledgeRetire,
    KnowledgeReview,
)
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.writer import LocalWriter


class KnowledgeEditError(ValueError):
    """A draft that cannot be published as it stands; ``field`` names what to fix."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ArticleDraft:
    """What an editor wrote. ``article_id`` None: a new article; ``base_version`` the
    published version the editor opened (0 for a new article)."""

    title: str
    body: str
    intents: str = ""
    products: str = ""
    tags: str = ""
    language: str = "en"
    review_due: dt.date | None = None
    note: str = ""
    article_id: uuid.UUID | None = None
    base_version: int = 0
    owner_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Published:
    article_id: uuid.UUID
    number: int


class KnowledgeEditor:
    """Publishing use cases for a signed-in editor (or admin)."""

    def __init__(self, writer: LocalWriter, session: Session) -> None:
        self._writer = writer
        self._session = session

    def publish(self, draft: ArticleDraft) -> Published:
        require(self._session, Capability.EDIT_KNOWLEDGE)
        article_id = draft.article_id or uuid7()
        try:
            with rejecting("knowledge.publish"):
                args = KnowledgePublish(
                    article_id=article_id,
                    version_id=uuid7(),
                    base_version=draft.base_version,
                    title=draft.title,
                    body=draft.body,
                    tags=draft.tags or None,
                    intents=draft.intents,  # type: ignore[arg-type]  # parsed from text
                    products=draft.products,  # type: ignore[arg-type]
                    language=draft.language,
                    owner_id=draft.owner_id,
                    review_due=draft.review_due,
                    note=draft.note or None,
                )
            result = self._writer.write("knowledge.publish", args)
        except MutationRejected as exc:
            raise KnowledgeEditError(str(exc), exc.field) from exc
        return Published(article_id, int(result.result.get("number", draft.base_version + 1)))

    def review(self, article_id: uuid.UUID, review_due: dt.date | None) -> None:
        require(self._session, Capability.EDIT_KNOWLEDGE)
        try:
            self._writer.write(
                "knowledge.review", KnowledgeReview(article_id=article_id, review_due=review_due)
            )
        except MutationRejected as exc:
            raise KnowledgeEditError(str(exc), exc.field) from exc

    def retire(self, article_id: uuid.UUID) -> None:
        require(self._session, Capability.EDIT_KNOWLEDGE)
        try:
            self._writer.write("knowledge.retire", KnowledgeRetire(article_id=article_id))
        except MutationRejected as exc:
            raise KnowledgeEditError(str(exc), exc.field) from exc
