"""Knowledge suggestions for a screen pop, and search, over 20 000 articles in a desktop cache.

    .venv/bin/python bench/knowledge.py [--articles 20000] [--pops 2000] [--searches 500]

Builds a fresh encrypted cache (SQLCipher, as the desktop uses) with the schema
from the migrations, writes ``--articles`` published articles (Markdown bodies
of 120-400 words from a 3 000-word vocabulary, 1-2 of 40 IVR intents, 0-3
products, five languages, 5 % past their review date) through the ORM table so
the migration's triggers fill the FTS5 index, and 2 000 customers with 1-4
products each. Then it times, on one thread as the desktop's local lane runs it:

* a pop's suggestion: ``KnowledgeService.suggest(intent, customer, language)``
  (the customer's products read from the cache, the intent's articles from the
  index, ranked, the top 8 with excerpts) for random calls, 10 % with an intent
  no article has (the products fill in);
* a search: ``KnowledgeService.search`` for 1-3 random words (prefixes).

Target (issue 13): suggestion for a pop ≤ 10 ms p95 (wall clock). Prints p50/p95/p99/max,
and the suggestion's CPU time too: on a shared 2-core box the wall-clock tail is mostly
waiting for a core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from agentdesk.ids import uuid7
from agentdesk.models import (
    Customer,
    CustomerKind,
    KnowledgeArticle,
    KnowledgeArticleVersion,
    Product,
    ProductKind,
)
from agentdesk.services.desk.pop_latency import percentile
from agentdesk.services.knowledge.service import KnowledgeService
from agentdesk.store import migrate
from agentdesk.store.engine import encrypted_sqlite_engine, write_session

TARGET_P95_MS = 10.0
INTENTS = tuple(
    f"{a}_{b}"
    for a in ("card", "account", "loan", "mortgage", "payment")
    for b in ("lost", "balance", "change", "close", "open", "dispute", "fee", "limit")
)
LANGUAGES = ("en", "en", "en", "en", "de", "fr", "es", "pl")
PRODUCTS = tuple(p.value for p in ProductKind)
CONSONANTS, VOWELS = "bcdfghklmnprstvz", "aeiou"


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.randint(1, 4)
        words.add("".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables)))
    return sorted(words)


def _body(rng: random.Random, vocab: list[str]) -> str:
    paragraphs = []
    for _ in range(rng.randint(2, 5)):
        words = [rng.choice(vocab) for _ in range(rng.randint(40, 90))]
        words[rng.randrange(len(words))] = f"**{rng.choice(vocab)}**"
        paragraphs.append(" ".join(words).capitalize() + ".")
    steps = "\n".join(f"{i}. {' '.join(rng.sample(vocab, 6))}" for i in range(1, 4))
    return "\n\n".join([*paragraphs, steps])


def build(path: Path, articles: int, rng: random.Random) -> tuple[object, list[uuid.UUID]]:
    engine = encrypted_sqlite_engine(path, secrets.token_hex(32))
    migrate.upgrade(engine)
    vocab = _vocabulary(rng, 3000)
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    started = time.perf_counter()
    for start in range(0, articles, 2000):
        rows, versions = [], []
        for _ in range(min(2000, articles - start)):
            ident = uuid7()
            title = " ".join(rng.sample(vocab, rng.randint(3, 7))).capitalize()
            body = _body(rng, vocab)
            intents = " ".join(sorted(rng.sample(INTENTS, rng.randint(1, 2))))
            products = " ".join(sorted(rng.sample(PRODUCTS, rng.randint(0, 3))))
            language = rng.choice(LANGUAGES)
            stale = rng.random() < 0.05
            review = today + dt.timedelta(
                days=rng.randint(-90, -1) if stale else rng.randint(1, 365)
            )
            common = {
                "title": title,
                "body": body,
                "tags": " ".join(rng.sample(vocab, 2)),
                "intents": intents,
                "products": products,
                "language": language,
            }
            rows.append(
                {
                    "id": ident,
                    **common,
                    "owner_id": None,
                    "review_due": review,
                    "status": "published",
                    "published_version": 1,
                    "version": 1,
                    "updated_at": now,
                }
            )
            versions.append(
                {"id": uuid7(), "article_id": ident, "number": 1, **common, "published_at": now}
            )
        with write_session(engine) as s:
            s.execute(insert(KnowledgeArticle), rows)
            s.execute(insert(KnowledgeArticleVersion), versions)
    took = time.perf_counter() - started
    print(f"wrote {articles:,} articles (with the FTS5 index) in {took:.1f} s")
    customers = [uuid7() for _ in range(2000)]
    with write_session(engine) as s:
        s.execute(
            insert(Customer),
            [
                {
                    "id": c,
                    "kind": CustomerKind.PERSON,
                    "display_name": f"Customer {n}",
                    "family_name": f"Customer {n}",
                    "created_at": now,
                    "updated_at": now,
                }
                for n, c in enumerate(customers)
            ],
        )
        s.execute(
            insert(Product),
            [
                {
                    "id": uuid7(),
                    "customer_id": c,
                    "kind": ProductKind(kind),
                    "name": kind.title(),
                    "number": None,
                    "number_last4": f"{rng.randint(0, 9999):04d}",
                    "opened_on": today,
                }
                for c in customers
                for kind in rng.sample([p for p in PRODUCTS if p != "card"], rng.randint(1, 4))
            ],
        )
    return engine, customers


def _report(name: str, samples: list[float], target: float | None = None) -> bool:
    samples.sort()
    p95 = percentile(samples, 95)
    verdict = ""
    if target is not None:
        verdict = f"  target p95 ≤ {target:.0f} ms: {'met' if p95 <= target else 'NOT met'}"
    print(
        f"{name:<22} n={len(samples):>5}  p50 {percentile(samples, 50):6.2f} ms  "
        f"p95 {p95:6.2f} ms  p99 {percentile(samples, 99):6.2f} ms  "
        f"max {samples[-1]:6.2f} ms{verdict}"
    )
    return target is None or p95 <= target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--pops", type=int, default=2000)
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as folder:
        engine, customers = build(Path(folder) / "cache.db", args.articles, rng)
        service = KnowledgeService(engine)  # type: ignore[arg-type]
        for intent in INTENTS[:5]:  # warm the page cache and the statements
            service.suggest(intent, rng.choice(customers), "en")
        pops: list[float] = []
        cpu: list[float] = []
        counts: list[int] = []
        for _ in range(args.pops):
            intent = rng.choice(INTENTS) if rng.random() < 0.9 else "unknown_intent"
            started, started_cpu = time.perf_counter(), time.thread_time()
            found = service.suggest(intent, rng.choice(customers), rng.choice(LANGUAGES))
            pops.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
            counts.append(len(found.hits))
        vocab = _vocabulary(random.Random(args.seed), 3000)
        searches: list[float] = []
        for _ in range(args.searches):
            words = " ".join(
                rng.choice(vocab)[: rng.randint(3, 8)] for _ in range(rng.randint(1, 3))
            )
            started = time.perf_counter()
            service.search(words)
            searches.append((time.perf_counter() - started) * 1000)
        print(
            f"{args.articles:,} articles, {len(INTENTS)} intents, 2,000 customers; "
            f"suggestions per pop: mean {sum(counts) / len(counts):.1f}"
        )
        ok = _report("suggestion for a pop", pops, TARGET_P95_MS)
        # The same calls in CPU time of this thread: what remains when the box is not shared.
        _report("  (CPU time)", cpu)
        _report("search (1-3 words)", searches)
        engine.dispose()  # type: ignore[attr-defined]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
