"""The CSV drop folder: which files are ready to import, and where each goes once its run has ended.

Layout (the root is `CONTACTS_DROP_DIR`, default `./imports/incoming`)::

    <root>/contacts.csv                       imported for the default customer
    <root>/<customer uuid>/contacts.csv       imported for that customer
    <folder>/contacts.mapping.yaml            optional column mapping for contacts.csv (or mapping.yaml for all)
    <folder>/done/contacts.csv                after a successful run, with contacts.rejects.csv beside it
    <folder>/failed/contacts.csv              after a failed run, with the rejects report so far

A file is ready once it has not been modified for `settle_seconds`, so one still being copied or written is
never picked up half-way; temporary names (dot files, `~` files, `.part`, `.tmp`, ...) are never picked up.
Nothing here imports Dagster: the sensor in `pipelines.sensors` is glue over these functions.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from contacts_store.settings import default_customer_id

DEFAULT_DROP_DIR = "imports/incoming"
DEFAULT_SETTLE_SECONDS = 10.0
DATA_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".tab"})
OUTCOME_FOLDERS = ("done", "failed")
WORK_FOLDER = ".work"
MAPPING_SUFFIXES = (".yaml", ".yml", ".json")


def drop_dir() -> Path:
    return Path(os.environ.get("CONTACTS_DROP_DIR") or DEFAULT_DROP_DIR).absolute()


def settle_seconds() -> float:
    value = os.environ.get("CONTACTS_DROP_SETTLE_SECONDS")
    return float(value) if value else DEFAULT_SETTLE_SECONDS


@dataclass(frozen=True)
class DroppedFile:
    path: Path
    customer_id: uuid.UUID
    mtime_ns: int
    size: int
    inode: int = 0
    mapping_path: Path | None = None

    @property
    def run_key(self) -> str:
        """Name and modification time (and size and inode): the same file is imported once, a changed file
        again, and so is a file dropped anew under an old name even when its copy kept the old mtime."""
        return f"{self.path}:{self.mtime_ns}:{self.size}:{self.inode}"

    @property
    def rejects_staging_path(self) -> Path:
        """Where the run writes its rejects report until the file is moved (outside the scanned names)."""
        digest = hashlib.sha256(self.run_key.encode()).hexdigest()[:16]
        return self.path.parent / WORK_FOLDER / f"{self.path.stem}.{digest}.rejects.csv"


@dataclass
class Scan:
    ready: list[DroppedFile] = field(default_factory=list)
    settling: list[Path] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def scan(root: Path, now: float | None = None, settle: float = DEFAULT_SETTLE_SECONDS) -> Scan:
    """Files ready to import under `root`, oldest first; creates `root` when it does not exist yet."""
    root.mkdir(parents=True, exist_ok=True)
    now = time.time() if now is None else now
    result = Scan()
    _scan_folder(root, default_customer_id(), now, settle, result)
    for entry in sorted(root.iterdir()):
        if not entry.is_dir() or entry.name in OUTCOME_FOLDERS or entry.name.startswith("."):
            continue
        try:
            customer = uuid.UUID(entry.name)
        except ValueError:
            result.ignored.append(f"{entry.name}/ (a sub-folder must be named by a customer UUID)")
            continue
        _scan_folder(entry, customer, now, settle, result)
    result.ready.sort(key=lambda f: (f.mtime_ns, str(f.path)))
    return result


def _scan_folder(folder: Path, customer: uuid.UUID, now: float, settle: float, result: Scan) -> None:
    for entry in sorted(folder.iterdir()):
        if not _is_candidate(entry):
            continue
        try:
            stat = entry.stat()
        except FileNotFoundError:  # moved away while we looked
            continue
        if now - stat.st_mtime < settle:
            result.settling.append(entry)
            continue
        result.ready.append(
            DroppedFile(entry, customer, stat.st_mtime_ns, stat.st_size, stat.st_ino, mapping_for(entry))
        )


def _is_candidate(path: Path) -> bool:
    name = path.name
    if name.startswith((".", "~")) or name.endswith("~"):
        return False
    return path.suffix.lower() in DATA_SUFFIXES and path.is_file()


def mapping_for(path: Path) -> Path | None:
    """`<stem>.mapping.yaml` beside the file, else `mapping.yaml` in its folder (also .yml or .json)."""
    for name in [f"{path.stem}.mapping{s}" for s in MAPPING_SUFFIXES] + [f"mapping{s}" for s in MAPPING_SUFFIXES]:
        candidate = path.parent / name
        if candidate.is_file():
            return candidate
    return None


def finish(path: Path, mtime_ns: int, size: int, outcome: str, rejects_report: Path | None) -> Path | None:
    """Move an imported file to `done/` or `failed/` beside it, with its rejects report; returns the new path.

    A file that changed since its run started is left where it is: the changed version is imported by its own
    run, which moves it when that run ends.
    """
    if outcome not in OUTCOME_FOLDERS:
        raise ValueError(f"outcome must be one of {OUTCOME_FOLDERS}")
    try:
        stat = path.stat()
    except FileNotFoundError:
        _discard(rejects_report)
        return None
    if (stat.st_mtime_ns, stat.st_size) != (mtime_ns, size):
        _discard(rejects_report)
        return None
    target_dir = path.parent / outcome
    target_dir.mkdir(exist_ok=True)
    target = _free_name(target_dir, path.name)
    shutil.move(path, target)
    if rejects_report is not None and rejects_report.exists():
        if _has_rows(rejects_report):
            shutil.move(rejects_report, target.with_name(f"{target.stem}.rejects.csv"))
        else:
            rejects_report.unlink()
    return target


def _free_name(folder: Path, name: str) -> Path:
    """`name` in `folder`, or `stem.<UTC time>.suffix` when a file of that name was imported before."""
    target = folder / name
    if not target.exists():
        return target
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return folder / f"{target.stem}.{stamp}{target.suffix}"


def _has_rows(report: Path) -> bool:
    """Whether a rejects report holds anything beyond its header."""
    with report.open(newline="", encoding="utf-8-sig") as handle:
        rows = csv.reader(handle)
        return next(rows, None) is not None and next(rows, None) is not None


def _discard(report: Path | None) -> None:
    if report is not None:
        report.unlink(missing_ok=True)
