"""Workspace benchmark: search p95 at 1M customers; for a 100k-interaction customer, the
timeline opened (its first page painted), Ctrl+End to the oldest entry, the scrollbar dragged
to the middle, and RSS while every page of that history is shown in turn.

    .venv/bin/python bench/workspace.py [--customers 1000000] [--db PATH] [--only timeline]

The 1M-customer store is built once with bulk Core inserts (a few minutes) and kept at
``--db`` so later runs start at once. Targets (DESIGN.md §5): first page ≤ 100 ms,
search p95 ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication
from sqlalchemy import func, select

from agentdesk.models import Customer
from agentdesk.services.crm.search import SearchService
from agentdesk.services.crm.timeline import TimelineService
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.timeline.view import TimelineView
from tests.ui_workspace.builders import (
    FAMILY,
    GIVEN,
    add_customer,
    add_interactions_sql,
    add_many_customers,
)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def build_store(path: Path, customers: int) -> tuple[object, object]:
    engine = sqlite_engine(path)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        have = conn.scalar(select(func.count()).select_from(Customer)) or 0
    if have < customers:
        started = time.perf_counter()
        add_many_customers(engine, customers - have)
        print(f"built {customers:,} customers in {time.perf_counter() - started:.0f} s")
    with engine.connect() as conn:
        big = conn.scalar(select(Customer.id).where(Customer.display_name == "Bench Hundredk"))
    if big is None:
        big = add_customer(
            engine, "Bench", "Hundredk", phone="+447700800800", email="bench.hundredk@example.com"
        )
        add_interactions_sql(engine, big, 100_000)
    return engine, big


def queries(count: int) -> list[str]:
    rng = random.Random(5)
    out: list[str] = []
    for n in range(count):
        kind = n % 5
        if kind == 0:
            out.append(rng.choice(GIVEN)[: rng.randint(2, 5)])
        elif kind == 1:
            out.append(f"{rng.choice(GIVEN)} {rng.choice(FAMILY)[:3]}")
        elif kind == 2:
            num = rng.randint(0, 999_999)
            out.append(
                rng.choice([f"07700 {num:06d}", f"+44 7700 {num:06d}", f"0044 7700-{num:06d}"])
            )
        elif kind == 3:
            out.append(
                f"{rng.choice(GIVEN).lower()}.{rng.choice(FAMILY).lower()}{rng.randint(0, 9)}@"
            )
        else:
            out.append(f"{rng.randint(0, 9999):04d}")
    return out


def bench_search(engine: object) -> None:
    service = SearchService(engine)  # type: ignore[arg-type]
    for q in queries(50):
        service.search(q)  # warm the page cache
    times = []
    for q in queries(1000):
        started = time.perf_counter()
        service.search(q)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95)]
    print(
        f"search: {len(times)} queries  p50 {statistics.median(times):.1f} ms  "
        f"p95 {p95:.1f} ms  max {times[-1]:.1f} ms  (target p95 ≤ 30 ms)"
    )


class Waiter:
    """Counts a signal and spins the event loop until it comes again.

    (One connection for the whole run: connecting a fresh QEventLoop per wait tripped
    a reference-counting crash inside PySide6 6.12 during garbage collection.)
    """

    def __init__(self, signal: object) -> None:
        self.count = 0
        signal.connect(self._on_signal)  # type: ignore[attr-defined]

    def _on_signal(self, *_args: object) -> None:
        self.count += 1

    def wait(self, before: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.count == before and time.monotonic() < deadline:
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        if self.count == before:
            raise TimeoutError(f"nothing came in {timeout_s:.0f} s")

    def until(self, condition: object, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        if not condition():  # type: ignore[operator]
            raise TimeoutError(f"not done in {timeout_s:.0f} s")


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _figures(label: str, times: list[float], target: str) -> None:
    print(
        f"timeline: {label}  median {statistics.median(times):.1f} ms  "
        f"max {max(times):.1f} ms  ({target}; 100,000 interactions)"
    )


def bench_timeline(engine: object, customer: object) -> None:
    """Open the 100k customer, jump to the oldest end, drag to the middle, scroll it all."""
    bridge = Bridge()
    view = TimelineView(bridge, TimelineService(engine), None, 200)  # type: ignore[arg-type]
    view.resize(1000, 700)
    view.show()
    QApplication.processEvents()
    pages, jumps = Waiter(view.model.page_loaded), Waiter(view.jumped)
    counts = Waiter(view.model.counted)
    bar = view.list.verticalScrollBar()
    opened, counted, ends, middles = [], [], [], []
    for _ in range(7):
        started = time.perf_counter()
        before, counted_before = pages.count, counts.count
        view.show_customer(customer)  # type: ignore[arg-type]
        pages.wait(before)  # the newest page comes first
        view.list.viewport().repaint()  # paint synchronously: the page is on screen
        opened.append(_ms(started))
        counts.wait(counted_before)  # then the length: a row for every entry
        pages.until(lambda: bar.maximum() > 90_000 * view.list.sizeHintForRow(0))  # laid out
        counted.append(_ms(started))
    for _ in range(7):  # from a customer just opened: nothing but the newest page loaded
        before = counts.count
        view.show_customer(customer)  # type: ignore[arg-type]
        counts.wait(before)
        pages.until(lambda: bar.maximum() > 90_000 * view.list.sizeHintForRow(0))
        started = time.perf_counter()
        before = jumps.count
        view.jump_to_oldest()  # Ctrl+End
        jumps.wait(before)
        view.list.viewport().repaint()
        ends.append(_ms(started))
        started = time.perf_counter()
        bar.setValue(bar.maximum() // 2)  # the scrollbar dragged to the middle
        middle = view.list.indexAt(view.list.viewport().rect().center()).row()
        pages.until(lambda middle=middle: view.model.entry_at(middle) is not None)
        view.list.viewport().repaint()
        middles.append(_ms(started))
    print(f"timeline: {view.model.rowCount():,} rows, scrollbar 0..{bar.maximum():,} px")
    _figures("opened, first page painted", opened, "target ≤ 100 ms")
    _figures("opened, scrollbar over the whole history", counted, "counted on the index")
    _figures("Ctrl+End, oldest entry painted", ends, "one page")
    _figures("dragged to the middle, its page painted", middles, "one page at its position")
    rss = [rss_mb()]
    started = time.perf_counter()
    step = view.model.page_size * view.list.sizeHintForRow(0)
    view.jump_to_newest()
    for value in range(0, bar.maximum() + step, step):  # a screen at every page, in order
        bar.setValue(min(value, bar.maximum()))
        shown = view.list.indexAt(view.list.viewport().rect().center()).row()
        pages.until(lambda shown=shown: view.model.entry_at(shown) is not None)
        view.list.viewport().repaint()
        rss.append(rss_mb())
    print(
        f"timeline: every page shown in turn in {time.perf_counter() - started:.1f} s, "
        f"{view.model.loaded_count():,} rows held at the end; RSS start {rss[0]:.0f} MB, "
        f"max {max(rss):.0f} MB, end {rss[-1]:.0f} MB"
    )
    bridge.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/agentdesk-bench-workspace.db"))
    parser.add_argument(
        "--only",
        choices=("search", "timeline"),
        help="run one part (timeline: with --customers 1000 the store is built in seconds)",
    )
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    engine, big = build_store(args.db, args.customers)
    print(f"store: {args.db} ({args.db.stat().st_size / 1e9:.2f} GB), RSS {rss_mb():.0f} MB")
    if args.only != "timeline":
        bench_search(engine)
    if args.only != "search":
        bench_timeline(engine, big)
    del app


if __name__ == "__main__":
    main()
