"""The ceiling of bench/lookup.py: a trivial FastAPI app, served the way `contact-sync serve` serves the API.

One `async def` endpoint returning a small JSON document, no database, no authentication: whatever the
contacts API does on top of this is what a lookup costs. The uvicorn settings are not copied but taken from
`contact-sync serve --host H --port P` itself (its `uvicorn.run` call is recorded instead of run, see
`serve_settings`), so the only difference between the two servers is the application.

    python bench/lookup_ceiling_app.py --host 127.0.0.1 --port 8001 [--print-settings]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import uvicorn
from fastapi import FastAPI

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

app = FastAPI(title="lookup benchmark ceiling")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/ping")
async def ping() -> dict[str, Any]:
    return {"id": "00000000-0000-0000-0000-000000000000", "found": True}


class SettingsUnavailable(RuntimeError):
    pass


def serve_settings(host: str = "127.0.0.1", port: int = 8000) -> dict[str, Any]:
    """The keyword arguments `contact-sync serve --host HOST --port PORT` passes to `uvicorn.run`.

    The command runs with `uvicorn.run` recording its arguments instead of serving, and without touching a
    database (its schema check is skipped); the environment is restored afterwards.
    """
    from pipelines import cli

    recorded: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def record(*args: Any, **kwargs: Any) -> None:
        recorded.append((args, kwargs))

    saved_env = dict(os.environ)
    try:
        with (
            mock.patch.object(uvicorn, "run", record),
            mock.patch("contacts_store.db.ensure_schema", lambda engine: None),
        ):
            cli.app(["serve", "--host", host, "--port", str(port)], standalone_mode=False)
    except SystemExit as exc:
        raise SettingsUnavailable(f"`contact-sync serve` exited with {exc.code} before calling uvicorn.run") from exc
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
    if len(recorded) != 1:
        raise SettingsUnavailable(f"`contact-sync serve` called uvicorn.run {len(recorded)} times, expected once")
    args, kwargs = recorded[0]
    if len(args) > 1:
        raise SettingsUnavailable(f"uvicorn.run got positional settings {args[1:]!r}")
    if "app" in kwargs or "app_dir" in kwargs:
        raise SettingsUnavailable(f"unexpected uvicorn.run arguments {sorted(kwargs)}")
    return kwargs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--print-settings", action="store_true", help="print the uvicorn settings as JSON and exit")
    args = parser.parse_args()
    try:
        settings = serve_settings(args.host, args.port)
    except SettingsUnavailable as exc:
        raise SystemExit(f"cannot mirror `contact-sync serve`: {exc}") from exc
    if args.print_settings:
        print(json.dumps(settings, sort_keys=True))
        return
    print(f"serving the ceiling app with {settings}", file=sys.stderr, flush=True)
    uvicorn.run("lookup_ceiling_app:app", app_dir=str(BENCH_DIR), **settings)


if __name__ == "__main__":
    main()
