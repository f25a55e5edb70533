"""Connector settings checked before anything is requested: numeric options from a connections file or the command
line, and the base URLs of CRM APIs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.errors import ConfigurationError


def parse_numbers(
    options: Mapping[str, Any], kinds: Mapping[str, type], label: str, maxima: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """`options` converted to the `kinds` (int or float); None values are left out (the default applies)."""
    values: dict[str, Any] = {}
    for name, value in options.items():
        if value is None:
            continue
        if name not in kinds:
            raise ConfigurationError(f"unknown {label} sync option {name!r} (known: {', '.join(sorted(kinds))})")
        try:
            number = kinds[name](value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name} must be a number, not {value!r}") from None
        if number < 0:
            raise ConfigurationError(f"{name} must not be negative")
        limit = (maxima or {}).get(name)
        if limit is not None and not 1 <= number <= limit:
            raise ConfigurationError(f"{name} must be between 1 and {limit} ({label}'s maximum)")
        values[name] = number
    return values


def require_http_url(what: str, url: str, example: str) -> None:
    """`url` must be http(s) with a host; `what` names it in the message (e.g. "the HubSpot base URL")."""
    if not url.startswith(("https://", "http://")) or not url.split("://", 1)[1].strip("/"):
        raise ConfigurationError(f"{what} must start with https:// (or http://), e.g. {example}: {url!r}")
