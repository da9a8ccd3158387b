"""Knowledge mutators: publish a version of an article, confirm its review date, retire it.

Applied on the editor's desktop first (the article reads as published there at
once) and then at the centre, whose result counts and whose feed carries the
article and the new version to every cache. Who may send these is the server's
check (``server/authz.py``: editors and admins); the shape of an article is
checked here on both sides. ``version`` stays at the centre's last value locally
(0 for an article made here); the centre bumps it on every change it applies.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentdesk.models import Agent, KnowledgeArticle, KnowledgeArticleVersion
from agentdesk.store.mutation_args.knowledge import (
    KnowledgePublish,
    KnowledgeRetire,
    KnowledgeReview,
)
from agentdesk.store.mutations import (
    Changed,
    MutationContext,
    MutationOutcome,
    MutationRejected,
    mutator,
)

PUBLISHED = "published"
RETIRED = "retired"


def _bump(row: KnowledgeArticle, ctx: MutationContext) -> None:
    row.updated_at = ctx.now
    if ctx.side == "central":
        row.version += 1


def _publisher(session: Session, ctx: MutationContext) -> Agent | None:
    return session.scalar(select(Agent).where(Agent.login == ctx.actor))


@mutator("knowledge.publish", "knowledge_article", KnowledgePublish)
def publish(session: Session, args: KnowledgePublish, ctx: MutationContext) -> MutationOutcome:
    """Publish a new article, or the next version of one (kept beside the earlier ones)."""
    if session.get(KnowledgeArticleVersion, args.version_id) is not None:
        return MutationOutcome({"status": "exists", "id": str(args.article_id)})
    row = session.get(KnowledgeArticle, args.article_id, with_for_update=True)
    current = 0 if row is None else row.published_version
    if args.base_version != current:
        raise MutationRejected(
            f"version {current} of this article was published since you opened version "
            f"{args.base_version}; reopen it and apply your changes again",
            "base_version",
        )
    if args.owner_id is not None and session.get(Agent, args.owner_id) is None:
        raise MutationRejected("the owner is not a known user", "owner_id")
    number = current + 1
    publisher = _publisher(session, ctx)
    fields = {
        "title": args.title.strip(),
        "body": args.body,
        "tags": (args.tags or "").strip(),
        "intents": " ".join(args.intents),
        "products": " ".join(args.products),
        "language": args.language,
    }
    if row is None:
        row = KnowledgeArticle(
            id=args.article_id,
            **fields,
            owner_id=args.owner_id or (publisher.id if publisher else None),
            review_due=args.review_due,
            status=PUBLISHED,
            published_version=number,
            version=1 if ctx.side == "central" else 0,
            updated_at=ctx.now,
        )
        session.add(row)
    else:
        for key, value in fields.items():
            setattr(row, key, value)
        if args.owner_id is not None:
            row.owner_id = args.owner_id
        row.review_due = args.review_due
        row.status = PUBLISHED
        row.published_version = number
        _bump(row, ctx)
    session.flush()
    session.add(
        KnowledgeArticleVersion(
            id=args.version_id,
            article_id=args.article_id,
            number=number,
            **fields,
            note=args.note,
            published_by=publisher.id if publisher else None,
            published_at=ctx.now,
        )
    )
    session.flush()
    return MutationOutcome(
        {"status": "published", "id": str(args.article_id), "number": number},
        [
            Changed("knowledge_article", args.article_id, version=row.version),
            Changed("knowledge_article_version", args.version_id),
        ],
    )


def _existing(session: Session, article_id: object) -> KnowledgeArticle:
    row = session.get(KnowledgeArticle, article_id, with_for_update=True)
    if row is None:
        raise MutationRejected("no such article", "article_id")
    return row


@mutator("knowledge.review", "knowledge_article", KnowledgeReview)
def review(session: Session, args: KnowledgeReview, ctx: MutationContext) -> MutationOutcome:
    """Confirm an article is still right and set when it is next due for review."""
    row = _existing(session, args.article_id)
    if row.review_due == args.review_due:
        return MutationOutcome({"status": "unchanged", "id": str(args.article_id)})
    row.review_due = args.review_due
    _bump(row, ctx)
    session.flush()
    return MutationOutcome(
        {"status": "reviewed", "id": str(args.article_id)},
        [Changed("knowledge_article", args.article_id, version=row.version)],
    )


@mutator("knowledge.retire", "knowledge_article", KnowledgeRetire)
def retire(session: Session, args: KnowledgeRetire, ctx: MutationContext) -> MutationOutcome:
    """Withdraw an article from suggestions and search; its versions stay for citations."""
    row = _existing(session, args.article_id)
    if row.status == RETIRED:
        return MutationOutcome({"status": "unchanged", "id": str(args.article_id)})
    row.status = RETIRED
    _bump(row, ctx)
    session.flush()
    return MutationOutcome(
        {"status": "retired", "id": str(args.article_id)},
        [Changed("knowledge_article", args.article_id, version=row.version)],
    )
