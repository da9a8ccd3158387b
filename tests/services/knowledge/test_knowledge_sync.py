"""A published article reaches every desktop through the feed, whatever its scope, and an
agent's desktop may not publish (the server refuses it, nothing is applied centrally)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from agentdesk.ids import uuid7
from agentdesk.models import KnowledgeArticle, KnowledgeArticleVersion, Role
from agentdesk.server.auth import Principal
from agentdesk.server.authz import MutationAuthorizer
from agentdesk.services.knowledge.service import KnowledgeService
from agentdesk.store.engine import read_session
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.sync import CentralStore, SyncScope
from agentdesk.store.sync.protocol import PushEntry
from tests.sync.conftest import Desk
from tests.sync.factories import REF

TEAM_A = SyncScope(team_ids=frozenset({REF.team_a}), agent_id=REF.bob)


def _publish(desk: Desk, title: str, base: int = 0, article_id: object = None) -> dict[str, object]:
    args = {
        "article_id": article_id or uuid7(),
        "version_id": uuid7(),
        "base_version": base,
        "title": title,
        "body": f"{title}: block the card in **Cards**.",
        "intents": ["card_lost"],
        "products": ["card"],
    }
    desk.writer.write("knowledge.publish", args)
    return args


def _sync(*desks: Desk) -> None:
    for _ in range(2):
        for desk in desks:
            desk.syncer.cycle()


def test_a_published_version_reaches_a_team_scoped_desktop(
    centre: CentralStore, make_desk: Callable[..., Desk]
) -> None:
    editor, agent = make_desk("editor", centre), make_desk("bob", centre, TEAM_A)
    _sync(editor, agent)
    first = _publish(editor, "Lost card")
    _sync(editor, agent)
    found = KnowledgeService(agent.engine).suggest("card_lost")
    assert [h.title for h in found.hits] == ["Lost card"]
    _publish(editor, "Lost or stolen card", base=1, article_id=first["article_id"])
    _sync(editor, agent)
    with read_session(agent.engine) as s:
        row = s.get(KnowledgeArticle, first["article_id"])
        assert row is not None and row.published_version == 2 and row.version == 2
        numbers = s.scalars(
            select(KnowledgeArticleVersion.number).where(
                KnowledgeArticleVersion.article_id == first["article_id"]
            )
        ).all()
        assert sorted(numbers) == [1, 2]
    # The cache's own index follows the synced rows.
    assert [h.title for h in KnowledgeService(agent.engine).search("stolen").hits] == [
        "Lost or stolen card"
    ]


def _principal(role: Role) -> Principal:
    return Principal(uuid7(), REF.bob, "bob", role, frozenset(), None, False)


def test_the_server_refuses_knowledge_mutations_from_an_agent(centre: CentralStore) -> None:
    principal = _principal(Role.AGENT)
    authorize = MutationAuthorizer(principal, uuid7(), postgres=False)
    entry = PushEntry(1, uuid7(), "knowledge.publish", {"article_id": str(uuid7())})
    with read_session(centre.engine) as s:
        try:
            authorize(s, entry)
        except MutationRejected as exc:
            assert "the agent role may not perform knowledge.publish" in str(exc)
        else:
            raise AssertionError("an agent published an article")
    editor = _principal(Role.EDITOR)
    with read_session(centre.engine) as s:
        MutationAuthorizer(editor, uuid7(), postgres=False)(s, entry)  # allowed
