"""Argon2id checks for a server that also carries live calls.

One Argon2id verification costs about 0.1–0.2 s of CPU on several native
threads (argon2-cffi's default profile: 64 MiB, 4 lanes) and does not hold the
GIL. At a shift start hundreds of agents sign in within a minute; run on the
request thread pool, dozens of checks at once took every core, and the event
loop carrying the CTI sockets and the PBX lease fell seconds behind (a capacity
run lost its PBX leases to that lag).

:class:`PasswordChecks` runs them on a few worker threads of their own, at a
lower scheduling priority where the OS allows it (Linux: per-thread nice, which
Argon2's own lane threads inherit), so checks use the CPU the live traffic
leaves and no more. A check that cannot start within ``wait`` seconds is
refused with :class:`ChecksBusy` (the API answers 503 with ``Retry-After``)
instead of piling up behind the others.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

NICE = 10  # how much lower than the server's other threads (0 = same priority)


class ChecksBusy(Exception):
    """Too many sign-ins waiting for a password check; ``retry_after`` in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            "The server is busy signing in many agents at once. "
            f"Try again in {retry_after} seconds."
        )


def _lower_priority() -> None:
    """Lower this worker thread's priority (Linux nice is per thread); elsewhere no-op."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


class PasswordChecks:
    """Runs password checks on ``workers`` low-priority threads, each waiting ``wait`` s at
    most to start (see module docstring)."""

    def __init__(self, workers: int = 1, wait: float = 20.0, retry_after: int = 5) -> None:
        if workers < 1 or wait <= 0:
            raise ValueError("password checks need at least one worker and a positive wait")
        self._workers = workers
        self._pool = self._new_pool()
        self._wait = wait
        self._retry_after = retry_after
        self._lock = threading.Lock()
        self.waiting = 0  # checks submitted and not yet started
        self.refused = 0  # checks refused as busy since start

    def run(self, check: Callable[[], bool]) -> bool:
        """``check()``'s result, computed on a checking thread; :class:`ChecksBusy` if it could
        not start within the wait."""
        started = threading.Event()

        def job() -> bool:
            with self._lock:
                self.waiting -= 1
            started.set()
            return check()

        with self._lock:
            self.waiting += 1
        future: Future[bool] = self._pool.submit(job)
        if not started.wait(self._wait) and future.cancel():
            with self._lock:
                self.waiting -= 1
                self.refused += 1
            raise ChecksBusy(self._retry_after)
        # Started (or starting this instant): a check takes well under a second.
        try:
            return future.result(timeout=max(self._wait, 30.0))
        except FutureTimeout as exc:  # a wedged worker: refuse rather than hang the request
            raise ChecksBusy(self._retry_after) from exc

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(
            max_workers=self._workers,
            thread_name_prefix="password-check",
            initializer=_lower_priority,
        )

    def close(self) -> None:
        """End the checking threads. A later check starts new ones (a server started again
        in the same process): the pool makes its threads on first use."""
        pool, self._pool = self._pool, self._new_pool()
        pool.shutdown(wait=False, cancel_futures=True)
