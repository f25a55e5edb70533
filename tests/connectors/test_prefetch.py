"""Pages fetched ahead in a thread arrive in order, and failures surface where the page was expected."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from connectors.prefetch import prefetched


def test_items_arrive_in_order_and_are_produced_ahead() -> None:
    produced: list[int] = []

    def source() -> Iterator[int]:
        for n in range(10):
            produced.append(n)
            yield n

    stream = prefetched(source(), depth=2)
    assert next(stream) == 0
    time.sleep(0.2)
    assert len(produced) >= 3  # the next pages are on their way while the first one is handled
    assert list(stream) == list(range(1, 10))


def test_a_failure_is_raised_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("reset by peer")

    seen: list[int] = []
    with pytest.raises(ConnectionError, match="reset by peer"):
        for item in prefetched(source()):
            seen.append(item)
    assert seen == [1, 2]


def test_closing_early_stops_the_producer() -> None:
    stopped = threading.Event()

    def source() -> Iterator[int]:
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            stopped.set()

    stream = prefetched(source(), depth=1)
    assert next(stream) == 1
    stream.close()
    assert not any(t.name == "crm-prefetch" and t.is_alive() for t in threading.enumerate())
