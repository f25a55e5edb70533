"""User-supplied column mappings.

Automatic header matching cannot know every in-house export (`column1`, `Kontakt-Telefon`, a CRM's custom field
labels), so a small YAML or JSON file can name the target of any column and force the delimiter or encoding:

    columns:
      Kontakt-Telefon: phone:work
      Handy: phone:mobile
      Interne Nr: ignore
    delimiter: ";"
    encoding: cp1252

Every mistake in it is reported with the entry that caused it, because the file is typically written by hand.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.csv_files.errors import CsvImportError
from connectors.csv_files.headers import SCALAR_FIELDS, Role, Split, match_key
from contacts_store.records import EmailType, PhoneType

IGNORE = "ignore"
_TOP_LEVEL_KEYS = ("columns", "delimiter", "encoding")
_DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
_BARE_TARGETS = {
    "phone": Role("phone", PhoneType.WORK),
    "email": Role("email", EmailType.WORK, primary=True),
    "tags": Role("tags", split=Split.LIST),
}
_PHONE_TYPES = {type_.value: type_ for type_ in PhoneType}
_EMAIL_TYPES = {type_.value: type_ for type_ in EmailType}
VALID_TARGETS = (
    f"{', '.join(SCALAR_FIELDS)}, tags, phone:<{'|'.join(PhoneType)}>, email:<{'|'.join(EmailType)}>, {IGNORE}"
)


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Overrides for one import: per-column targets (None = ignore the column), and optionally the dialect.

    Column names are matched exactly first, then by their normalized form, so `E-Mail` in the mapping file still
    finds an `e-mail` header.
    """

    columns: Mapping[str, Role | None] = field(default_factory=dict)
    delimiter: str | None = None
    encoding: str | None = None

    def lookup(self, header: str) -> tuple[str, Role | None] | None:
        """The entry naming `header` as (name as written in the mapping, role), or None if none names it."""
        if header in self.columns:
            return header, self.columns[header]
        key = match_key(header)
        for name, role in self.columns.items():
            if match_key(name) == key:
                return name, role
        return None

    @classmethod
    def from_dict(cls, data: object, origin: str = "mapping") -> ColumnMapping:
        """Validate a parsed mapping (from a file, or from command-line options) into a `ColumnMapping`."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise CsvImportError(f"{origin}: expected a mapping with 'columns', 'delimiter' or 'encoding' at the top")
        unknown = [str(key) for key in data if key not in _TOP_LEVEL_KEYS]
        if unknown:
            raise CsvImportError(
                f"{origin}: unknown setting {unknown[0]!r}; the settings are {', '.join(_TOP_LEVEL_KEYS)}"
            )
        columns = _parse_columns(data.get("columns"), origin)
        delimiter = _parse_delimiter(data.get("delimiter"), origin)
        encoding = _parse_encoding(data.get("encoding"), origin)
        return cls(columns, delimiter, encoding)


def load_mapping(path: Path) -> ColumnMapping:
    """Read a mapping file: `.json` as JSON, `.yaml`/`.yml` as YAML, anything else as whichever parses."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CsvImportError(f"mapping file {path} not found") from None
    except IsADirectoryError:
        raise CsvImportError(f"mapping file {path} is a directory") from None
    except UnicodeDecodeError:
        raise CsvImportError(f"mapping file {path} is not UTF-8 text") from None
    except OSError as error:
        raise CsvImportError(f"cannot read mapping file {path}: {error.strerror or error}") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = _parse_json(text, path)
    elif suffix in (".yaml", ".yml"):
        data = _parse_yaml(text, path)
    else:
        try:
            data = json.loads(text)
        except ValueError:
            data = _parse_yaml(text, path)
    return ColumnMapping.from_dict(data, origin=f"mapping file {path}")


def parse_target(target: object, header: str, origin: str) -> Role | None:
    """`first_name`, `phone:mobile`, `email:personal`, `tags`, `ignore` → the role (None for ignore)."""
    if not isinstance(target, str) or not target.strip():
        raise CsvImportError(f"{origin}: column {header!r} needs a target ({VALID_TARGETS})")
    text = target.strip().lower()
    kind, _, subtype = (part.strip() for part in text.partition(":"))
    kind = kind.replace("-", "_").replace(" ", "_")
    if not subtype:
        if kind == IGNORE:
            return None
        if kind in SCALAR_FIELDS:
            return Role(kind)
        if kind in _BARE_TARGETS:
            return _BARE_TARGETS[kind]
    elif kind == "phone" and subtype in _PHONE_TYPES:
        return Role("phone", _PHONE_TYPES[subtype])
    elif kind == "email" and subtype in _EMAIL_TYPES:
        return Role("email", _EMAIL_TYPES[subtype])
    elif kind in ("phone", "email"):
        types = ", ".join(PhoneType if kind == "phone" else EmailType)
        raise CsvImportError(f"{origin}: column {header!r}: unknown {kind} type {subtype!r}; use one of {types}")
    raise CsvImportError(f"{origin}: column {header!r}: unknown target {target!r}; use one of {VALID_TARGETS}")


def _parse_columns(columns: Any, origin: str) -> dict[str, Role | None]:
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise CsvImportError(f"{origin}: 'columns' must map each CSV header to a target")
    parsed: dict[str, Role | None] = {}
    for header, target in columns.items():
        if not isinstance(header, str) or not header.strip():
            raise CsvImportError(f"{origin}: column names must be non-empty text, got {header!r}")
        parsed[header] = parse_target(target, header, origin)
    return parsed


def _parse_delimiter(value: Any, origin: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        named = _DELIMITER_NAMES.get(value.strip().lower(), value)
        if len(named) == 1 and named not in ('"', "\r", "\n"):
            return named
    raise CsvImportError(
        f"{origin}: delimiter must be a single character (or comma, semicolon, tab, pipe), got {value!r}"
    )


def _parse_encoding(value: Any, origin: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        try:
            return codecs.lookup(value.strip()).name
        except LookupError:
            pass
    raise CsvImportError(f"{origin}: unknown encoding {value!r} (try utf-8, cp1252, utf-16 or latin-1)")


def _parse_json(text: str, path: Path) -> object:
    try:
        return json.loads(text)
    except ValueError as error:
        raise CsvImportError(f"mapping file {path} is not valid JSON: {error}") from None


def _parse_yaml(text: str, path: Path) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None)
        details = [f"line {mark.line + 1}"] if mark is not None else []
        details += [problem] if problem else []
        where = f" ({': '.join(details)})" if details else ""
        raise CsvImportError(f"mapping file {path} is not valid YAML{where}") from None
