"""A fake CRM (Salesforce, HubSpot or Zoho) in its own process, driven through a pipe.

In the test suite the fake serves from a thread of the test process, which is fine for correctness; in a
benchmark it would compete with the sync for the interpreter lock and charge its own JSON encoding to the sync.
A real org is another machine, so the benchmark gives the fake another process.
"""

from __future__ import annotations

import gc
import multiprocessing
import traceback
from multiprocessing.connection import Connection
from typing import Any


def _serve(pipe: Connection, kind: str) -> None:
    if kind == "hubspot":
        from tests.fakes.hubspot import FakeHubSpot

        fake: Any = FakeHubSpot().start()
    elif kind == "zoho":
        from tests.fakes.zoho import FakeZoho

        fake = FakeZoho().start()
    else:
        from tests.fakes.salesforce import FakeSalesforce

        fake = FakeSalesforce().start()
    try:
        while True:
            message = pipe.recv()
            if message is None:
                return
            kind, name, args, kwargs = message
            try:
                if kind == "settle":
                    # Collect now and exempt the org's million objects from later collections, so the next timed
                    # request does not pay for a full collection that the data set up above triggered.
                    gc.collect()
                    gc.freeze()
                    pipe.send((True, None))
                    continue
                value = getattr(fake, name)
                pipe.send((True, value(*args, **kwargs) if kind == "call" else value))
            except Exception:  # the caller re-raises it with the fake's traceback
                pipe.send((False, traceback.format_exc()))
    finally:
        fake.stop()


class RemoteFake:
    """Calls and attribute reads go to the fake (`FakeSalesforce`, `FakeHubSpot` or `FakeZoho`) in the child."""

    def __init__(self, kind: str = "salesforce") -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, kind), daemon=True)
        self._process.start()

    def _ask(self, kind: str, name: str, *args: Any, **kwargs: Any) -> Any:
        self._pipe.send((kind, name, args, kwargs))
        ok, value = self._pipe.recv()
        if not ok:
            raise RuntimeError(f"the fake failed {name}:\n{value}")
        return value

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._ask("call", name, *args, **kwargs)

    def attr(self, name: str) -> Any:
        return self._ask("attr", name)

    def set(self, name: str, value: Any) -> None:
        self._ask("call", "__setattr__", name, value)

    def settle(self) -> None:
        """Call before a timed sync: the fake's garbage collection is not the sync's cost."""
        self._ask("settle", "")

    def stop(self) -> None:
        self._pipe.send(None)
        self._process.join(timeout=30)
