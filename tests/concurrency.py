"""Helpers for threaded concurrency tests (HOUSE_STYLE: a Barrier, a connection per thread)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_concurrently(fn: Callable[[int], object], n: int, timeout: float = 60) -> list:
    """Run ``fn(i)`` for i in range(n) in n threads released together by a barrier; return each
    result or the exception it raised, in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[i] = fn(i)
        except BaseException as exc:  # reported to the test, not swallowed
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    return results
