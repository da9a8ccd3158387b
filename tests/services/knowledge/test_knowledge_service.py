"""Publishing, suggestions, search and reading, on embedded SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, insert, select

from agentdesk.ids import uuid7
from agentdesk.models import (
    Agent,
    Customer,
    CustomerKind,
    Interaction,
    KnowledgeArticle,
    Product,
    ProductKind,
    Role,
)
from agentdesk.services.knowledge.editor import ArticleDraft, KnowledgeEditError, KnowledgeEditor
from agentdesk.services.knowledge.query import KnowledgeQueryError
from agentdesk.services.knowledge.service import KnowledgeService
from agentdesk.services.platform.roles import PermissionDenied
from agentdesk.store.engine import read_session, write_session
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.writer import LocalWriter

TODAY = dt.date(2026, 12, 3)
NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Who:
    login: str
    role: Role


@pytest.fixture
def store(central: Engine) -> Engine:
    with write_session(central) as s:
        s.add(
            Agent(
                id=uuid7(),
                login="erin",
                display_name="Erin Editor",
                password_hash="x",
                role=Role.EDITOR,
            )
        )
    return central


def _editor(store: Engine, role: Role = Role.EDITOR) -> KnowledgeEditor:
    return KnowledgeEditor(LocalWriter(store, "erin"), Who("erin", role))


def _service(store: Engine) -> KnowledgeService:
    return KnowledgeService(store, today=lambda: TODAY)


def _customer(store: Engine, *kinds: ProductKind) -> uuid.UUID:
    ident = uuid7()
    with write_session(store) as s:
        s.execute(
            insert(Customer),
            [
                {
                    "id": ident,
                    "kind": CustomerKind.PERSON,
                    "display_name": "Ada",
                    "family_name": "Ada",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            ],
        )
        for kind in kinds:
            s.add(
                Product(
                    id=uuid7(),
                    customer_id=ident,
                    kind=kind,
                    name=kind.value,
                    number=None,
                    number_last4="1234",
                )
            )
    return ident


def _draft(title: str, **kw: object) -> ArticleDraft:
    fields: dict[str, object] = {"body": f"{title}: what to do.", "intents": "card_lost"}
    fields.update(kw)
    return ArticleDraft(title, **fields)  # type: ignore[arg-type]


def test_suggestions_rank_intent_then_products_then_language_and_flag_stale(store: Engine) -> None:
    ed = _editor(store)
    plain = ed.publish(_draft("Lost card, general"))
    for_card = ed.publish(_draft("Lost credit card", products="card"))
    german = ed.publish(_draft("Karte verloren", products="card", language="de"))
    stale = ed.publish(
        _draft(
            "Lost card, old process", products="card", language="de", review_due=dt.date(2026, 6, 1)
        )
    )
    by_product = ed.publish(_draft("Card fees", intents="card_fees", products="card"))
    ed.publish(_draft("Mortgage overpayment", intents="mortgage_overpay", products="mortgage"))
    customer = _customer(store, ProductKind.CARD, ProductKind.CURRENT)

    found = _service(store).suggest("card_lost", customer, "de")
    ids = [h.id for h in found.hits]
    # Intent first; among those, the customer's product; then the caller's language; a stale
    # one after the fresh one of the same relevance; then product-only articles.
    assert ids == [
        german.article_id,
        stale.article_id,
        for_card.article_id,
        plain.article_id,
        by_product.article_id,
    ]
    hits = {h.id: h for h in found.hits}
    assert hits[stale.article_id].stale and not hits[german.article_id].stale
    assert (
        hits[for_card.article_id].reason == "The call is about card lost; the customer has a card"
    )
    assert hits[by_product.article_id].reason == "The customer has a card"
    assert found.message == ""


def test_suggestions_without_intent_or_products_say_why(store: Engine) -> None:
    _editor(store).publish(_draft("Lost card"))
    service = _service(store)
    assert service.suggest(None).message == (
        "The IVR did not say what the call is about; search below."
    )
    assert "No articles know" in service.suggest("<script>").message
    assert service.suggest("balance").message == "No article matches this call; search below."
    # The pop's card can carry the products (a caller not in this cache).
    assert service.suggest("balance", products=("card",)).message.startswith("No article")


def test_search_ranks_titles_first_and_refuses_bad_text_with_a_sentence(store: Engine) -> None:
    ed = _editor(store)
    in_body = ed.publish(_draft("Fees", body="A replacement card is free once a year."))
    in_title = ed.publish(_draft("Replacement card", body="Order it in Cards."))
    service = _service(store)
    assert [h.id for h in service.search("replacem").hits] == [
        in_title.article_id,
        in_body.article_id,
    ]
    assert service.search("mortgage").message == "No article contains “mortgage”."
    # Query syntax typed by an agent is only words.
    typed = service.search('"card" OR NEAR( title:*')
    assert typed.message == "No article contains “card or near title”."
    for text, words in [
        ("   ", "Type a word or two"),
        ("?!…", "punctuation alone"),
        ("x" * 201, "201 characters long; the limit is 200"),
        (" ".join(f"w{i}" for i in range(13)), "13 different words; use at most 12"),
    ]:
        with pytest.raises(KnowledgeQueryError, match=words):
            service.search(text)


def test_versions_are_kept_and_a_concurrent_publish_is_refused(store: Engine) -> None:
    ed = _editor(store)
    first = ed.publish(_draft("Lost card", body="Version one."))
    second = ed.publish(
        _draft(
            "Lost card",
            body="Version **two**.",
            article_id=first.article_id,
            base_version=1,
            note="new process",
        )
    )
    assert second.number == 2
    with pytest.raises(KnowledgeEditError, match="version 2 of this article was published"):
        ed.publish(_draft("Lost card", body="Mine.", article_id=first.article_id, base_version=1))
    service = _service(store)
    current = service.article(first.article_id)
    assert current is not None and current.version == 2 and current.latest_version == 2
    assert current.html == "<p>Version <strong>two</strong>.</p>\n"
    assert [(v.number, v.note) for v in current.versions] == [(2, "new process"), (1, None)]
    old = service.article(first.article_id, 1)
    assert old is not None and old.body == "Version one." and old.latest_version == 2
    assert service.search("one").hits == ()  # only the published text is indexed


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("Block it <script>alert(1)</script>", "contains HTML"),
        ('<img src=x onerror="alert(1)">', "contains HTML"),
        ("[Click](javascript:alert(1))", "link to javascript:"),
        ("[Click](  JavaScript:alert(1))", "javascript:"),
        ("[file](file:///etc/passwd)", "link to file:"),
        ("![chart](https://example.org/x.png)", "has an image"),
        ("   ", "is empty"),
    ],
)
def test_publishing_refuses_markup_and_unsafe_links(store: Engine, body: str, words: str) -> None:
    with pytest.raises(KnowledgeEditError, match=words) as refused:
        _editor(store).publish(_draft("Bad", body=body))
    assert refused.value.field == "body"
    with read_session(store) as s:
        assert s.scalar(select(KnowledgeArticle.id)) is None  # nothing half-written


def test_publishing_refuses_bad_codes_and_needs_a_way_to_find_it(store: Engine) -> None:
    ed = _editor(store)
    with pytest.raises(KnowledgeEditError, match="'boat' is not a product") as bad:
        ed.publish(_draft("X", products="card boat"))
    assert bad.value.field == "products"
    with pytest.raises(KnowledgeEditError, match="at least one intent, product or tag"):
        ed.publish(_draft("X", intents=""))


def test_stored_markup_is_shown_as_text_and_unsafe_links_are_not_links(store: Engine) -> None:
    # A row that bypassed publishing (an old import): the renderer is the second line.
    ident = uuid7()
    with write_session(store) as s:
        s.add(
            KnowledgeArticle(
                id=ident,
                title="Old",
                body="<script>x()</script> [a](javascript:x) [b](https://bank.example)",
                intents="card_lost",
            )
        )
    article = _service(store).article(ident)
    assert article is not None
    assert "<script>" not in article.html and "&lt;script&gt;" in article.html
    assert 'href="javascript' not in article.html
    assert '<a href="https://bank.example">b</a>' in article.html


def test_only_editors_publish_review_and_retire(store: Engine) -> None:
    with pytest.raises(PermissionDenied, match="signed in as agent"):
        _editor(store, Role.AGENT).publish(_draft("X"))
    ed = _editor(store)
    article = ed.publish(_draft("Lost card", review_due=dt.date(2026, 1, 1)))
    service = _service(store)
    assert [h.id for h in service.stale()] == [article.article_id]
    ed.review(article.article_id, dt.date(2027, 6, 1))
    assert service.stale() == ()
    ed.retire(article.article_id)
    assert service.suggest("card_lost").hits == () and service.search("lost").hits == ()
    retired = service.article(article.article_id)
    assert retired is not None and retired.retired


def test_an_interaction_cites_an_existing_article_version(store: Engine) -> None:
    article = _editor(store).publish(_draft("Lost card"))
    writer = LocalWriter(store, "erin")
    base = {"channel": "phone", "direction": "inbound", "started_at": NOW}
    cited = {
        "id": uuid7(),
        **base,
        "knowledge_article_id": article.article_id,
        "knowledge_version": 1,
    }
    writer.write("interaction.add", cited)
    with read_session(store) as s:
        row = s.get(Interaction, cited["id"])
        assert row is not None and (row.knowledge_article_id, row.knowledge_version) == (
            article.article_id,
            1,
        )
    with pytest.raises(MutationRejected, match="version 7 of the cited article does not exist"):
        writer.write("interaction.add", {**cited, "id": uuid7(), "knowledge_version": 7})
    with pytest.raises(MutationRejected, match="cited with its version"):
        writer.write("interaction.add", {**cited, "id": uuid7(), "knowledge_version": None})
