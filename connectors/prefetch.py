"""Reading the next pages of a CRM while the store writes the current one.

A CRM page takes a second or more to arrive (Salesforce builds a 2,000-record page server-side; HubSpot and Zoho
rate-limit), and writing it takes about as long; one thread fetching ahead overlaps the two. The thread only
waits on the network and parses JSON, so it costs the writer little of the interpreter lock.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield `items` in order, produced up to `depth` ahead by a background thread; its exceptions re-raise here.

    Closing the generator early (the consumer failed) stops the thread after the item it is producing.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer, who raises it where the item was expected
            put(_Failed(error))
            return
        put(_DONE)

    thread = threading.Thread(target=produce, name="crm-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        # A producer still waiting on a slow response is left to finish it and exit; it holds nothing but the page.
        thread.join(timeout=5)
