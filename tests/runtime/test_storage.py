import errno
import os
import threading

import polars as pl
import pytest

from volpred.runtime.storage import (
    CheckpointWriteError,
    LockedError,
    atomic_write,
    atomic_write_csv,
    atomic_write_text,
    read_json,
    run_lock,
    sha256_file,
)


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a" / "f.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["f.txt"]


def test_failed_write_keeps_previous_file_intact(tmp_path):
    target = tmp_path / "f.csv"
    atomic_write_text(target, "good")

    def crash(tmp):
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(
        CheckpointWriteError, match=r"could not write checkpoint .*f\.csv.*No space"
    ):
        atomic_write(target, crash)
    assert target.read_text() == "good"
    assert os.listdir(tmp_path) == ["f.csv"]


def test_permission_denied_is_a_clear_error(tmp_path, monkeypatch):
    target = tmp_path / "f.csv"
    atomic_write_text(target, "good")

    def deny(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", deny)
    with pytest.raises(CheckpointWriteError, match="Permission denied"):
        atomic_write_text(target, "new")
    assert target.read_text() == "good"


def test_csv_is_byte_stable(tmp_path):
    frame = pl.select(
        x=pl.Series([0.1, 1 / 3]), d=pl.Series(["2020-01-01", "2020-01-02"]).str.to_date()
    )
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    atomic_write_csv(a, frame)
    atomic_write_csv(b, frame)
    assert sha256_file(a) == sha256_file(b)
    assert a.read_text().splitlines()[1] == "0.1,2020-01-01"


def test_read_json_missing_is_none(tmp_path):
    assert read_json(tmp_path / "none.json") is None


def test_run_lock_refuses_a_second_holder_with_a_clear_message(tmp_path):
    held, release = threading.Event(), threading.Event()

    def hold():
        with run_lock(tmp_path, "pipeline", timeout=1):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        with (
            pytest.raises(LockedError, match="another volpred run"),
            run_lock(tmp_path, "pipeline", timeout=0.2),
        ):
            pass
    finally:
        release.set()
        thread.join()
    with run_lock(tmp_path, "pipeline", timeout=0.2):
        pass


def test_a_failed_group_restores_files_even_without_hard_links(tmp_path, monkeypatch):
    """No hard links (a file system without them): backups are copies, and a rename failing
    later in the group still puts every earlier file back."""
    import os

    from volpred.runtime import storage

    a, b = tmp_path / "a.csv", tmp_path / "b.json"
    a.write_text("old a")
    b.write_text("old b")

    def no_links(*args, **kwargs):
        raise OSError(1, "Operation not permitted")

    real_replace = os.replace

    def fail_on_b(src, dst):
        if str(dst) == str(b):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(storage.os, "link", no_links)
    monkeypatch.setattr(storage.os, "replace", fail_on_b)
    with (
        pytest.raises(storage.CheckpointWriteError, match="b.json"),
        storage.staged_writes() as stage,
    ):
        stage(a, lambda tmp: tmp.write_text("new a"))
        stage(b, lambda tmp: tmp.write_text("new b"))
    monkeypatch.undo()
    assert a.read_text() == "old a" and b.read_text() == "old b"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
