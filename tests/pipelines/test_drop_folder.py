"""The drop folder's rules: which files are ready, for which customer, and where they go after their run."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from contacts_store.settings import NIL_CUSTOMER
from pipelines import drop_folder

SETTLE = 10.0


def drop(path: Path, text: str = "name,phone\nAnn,+12015550123\n", age: float = 60.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def ready_names(root: Path) -> list[str]:
    return [str(f.path.relative_to(root)) for f in drop_folder.scan(root, settle=SETTLE).ready]


def test_scan_creates_the_folder_and_finds_nothing(tmp_path: Path) -> None:
    root = tmp_path / "imports" / "incoming"
    result = drop_folder.scan(root)
    assert root.is_dir() and result.ready == [] and result.settling == []


def test_top_level_files_are_for_the_default_customer_and_sub_folders_for_theirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTACTS_CUSTOMER_ID", raising=False)
    customer = uuid.uuid4()
    drop(tmp_path / "a.csv", age=120)
    drop(tmp_path / str(customer) / "b.TSV", age=60)
    found = drop_folder.scan(tmp_path, settle=SETTLE).ready
    assert [(f.path.name, f.customer_id) for f in found] == [("a.csv", NIL_CUSTOMER), ("b.TSV", customer)]


def test_a_file_still_being_written_waits_until_it_settles(tmp_path: Path) -> None:
    path = drop(tmp_path / "big.csv", age=0)
    result = drop_folder.scan(tmp_path, settle=SETTLE)
    assert result.ready == [] and result.settling == [path]
    later = drop_folder.scan(tmp_path, now=time.time() + SETTLE + 1, settle=SETTLE)
    assert [f.path for f in later.ready] == [path]


def test_temporary_and_foreign_names_are_never_picked_up(tmp_path: Path) -> None:
    for name in (".hidden.csv", "~$lock.csv", "upload.csv.part", "notes.pdf", "x.csv~", "data.tmp"):
        drop(tmp_path / name)
    drop(tmp_path / "done" / "old.csv")
    drop(tmp_path / "failed" / "bad.csv")
    drop(tmp_path / ".work" / "r.csv")
    drop(tmp_path / "not-a-customer" / "c.csv")
    result = drop_folder.scan(tmp_path, settle=SETTLE)
    assert result.ready == []
    assert result.ignored == ["not-a-customer/ (a sub-folder must be named by a customer UUID)"]


def test_run_key_changes_with_the_file_and_only_then(tmp_path: Path) -> None:
    path = drop(tmp_path / "a.csv", age=100)
    (first,) = drop_folder.scan(tmp_path, settle=SETTLE).ready
    (same,) = drop_folder.scan(tmp_path, settle=SETTLE).ready
    assert first.run_key == same.run_key
    drop(path, "name,phone\nBob,+12015550124\n", age=50)
    (changed,) = drop_folder.scan(tmp_path, settle=SETTLE).ready
    assert changed.run_key != first.run_key
    assert changed.rejects_staging_path != first.rejects_staging_path
    assert changed.rejects_staging_path.parent == tmp_path / drop_folder.WORK_FOLDER


def test_a_mapping_file_beside_the_csv_is_used(tmp_path: Path) -> None:
    drop(tmp_path / "a.csv")
    drop(tmp_path / "b.csv")
    (tmp_path / "a.mapping.yaml").write_text("columns: {}\n", encoding="utf-8")
    found = {f.path.name: f.mapping_path for f in drop_folder.scan(tmp_path, settle=SETTLE).ready}
    assert found == {"a.csv": tmp_path / "a.mapping.yaml", "b.csv": None}
    (tmp_path / "mapping.yml").write_text("columns: {}\n", encoding="utf-8")
    found = {f.path.name: f.mapping_path for f in drop_folder.scan(tmp_path, settle=SETTLE).ready}
    assert found == {"a.csv": tmp_path / "a.mapping.yaml", "b.csv": tmp_path / "mapping.yml"}


def report(path: Path, rows: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\ufeffrow,reason"] + [f"{i},invalid_phone" for i in range(rows)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def test_finish_moves_the_file_and_its_report(tmp_path: Path) -> None:
    path = drop(tmp_path / "a.csv")
    (file,) = drop_folder.scan(tmp_path, settle=SETTLE).ready
    staged = report(file.rejects_staging_path, rows=2)
    moved = drop_folder.finish(path, file.mtime_ns, file.size, "done", staged)
    assert moved == tmp_path / "done" / "a.csv" and moved.exists() and not path.exists()
    assert (tmp_path / "done" / "a.rejects.csv").read_text(encoding="utf-8-sig").startswith("row,reason")
    assert not staged.exists()


def test_an_empty_report_is_not_kept_and_names_never_collide(tmp_path: Path) -> None:
    for attempt in range(2):
        path = drop(tmp_path / "a.csv", text=f"name\nN{attempt}\n")
        (file,) = drop_folder.scan(tmp_path, settle=SETTLE).ready
        staged = report(file.rejects_staging_path, rows=0)
        drop_folder.finish(path, file.mtime_ns, file.size, "failed", staged)
        assert not staged.exists()
    moved = sorted(p.name for p in (tmp_path / "failed").iterdir())
    assert len(moved) == 2 and moved[0].startswith("a.") and "a.csv" in moved
    assert not any(name.endswith(".rejects.csv") for name in moved)


def test_a_file_changed_during_its_run_stays_for_its_next_run(tmp_path: Path) -> None:
    path = drop(tmp_path / "a.csv", age=100)
    (file,) = drop_folder.scan(tmp_path, settle=SETTLE).ready
    drop(path, "name\nchanged\n", age=5)
    staged = report(file.rejects_staging_path, rows=1)
    assert drop_folder.finish(path, file.mtime_ns, file.size, "done", staged) is None
    assert path.exists() and not staged.exists() and not (tmp_path / "done").exists()


def test_finish_of_a_vanished_file_does_nothing(tmp_path: Path) -> None:
    assert drop_folder.finish(tmp_path / "gone.csv", 1, 1, "done", None) is None
    with pytest.raises(ValueError):
        drop_folder.finish(tmp_path / "gone.csv", 1, 1, "elsewhere", None)


def test_a_file_copied_in_anew_with_its_old_mtime_is_a_new_run(tmp_path: Path) -> None:
    path = drop(tmp_path / "a.csv", age=100)
    (first,) = drop_folder.scan(tmp_path, settle=SETTLE).ready
    copy = tmp_path / "copy.tmp"
    copy.write_bytes(path.read_bytes())
    os.utime(copy, ns=(first.mtime_ns, first.mtime_ns))
    path.unlink()  # the first file was filed away; the same content arrives again, as `cp -p` writes it
    copy.rename(path)
    (again,) = drop_folder.scan(tmp_path, settle=SETTLE).ready
    assert (again.mtime_ns, again.size) == (first.mtime_ns, first.size)
    assert again.run_key != first.run_key
