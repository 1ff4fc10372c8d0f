"""Real concurrency for tests on PostgreSQL: run work in threads released at one moment, each
with its own database connection (closed when it ends)."""

import threading
from collections.abc import Callable

from django.db import connection


def at_once(count: int, work: Callable[[int], object], *, timeout: float = 60) -> list[object]:
    """Run work(i) for i in range(count), in threads that start together; each one's result,
    or the exception it raised (the test inspects every outcome)."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results
