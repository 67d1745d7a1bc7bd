"""Staging folders of concurrent loads: one load never removes another's living folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from features import staging
from features.staging import remove_stale_staging, staging_folder


def test_a_starting_load_s_folder_is_not_abandoned_before_its_lock_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second load that looks between the owner file's creation and its lock.

    Under load this window was hit: the other load found the owner file unlocked,
    took it for a killed process's folder and removed it mid-load.
    """
    warehouse = tmp_path / "warehouse.duckdb"
    real_flock = staging.fcntl.flock
    removed_meanwhile: list[Path] = []

    def flock_after_a_rival_looked(fd: int, operation: int) -> None:
        if not removed_meanwhile and operation == staging.fcntl.LOCK_EX:
            removed_meanwhile.extend(remove_stale_staging(warehouse) or [Path("-")])
        real_flock(fd, operation)

    monkeypatch.setattr(staging.fcntl, "flock", flock_after_a_rival_looked)
    with staging_folder(warehouse) as folder:
        assert folder.is_dir()
        assert (folder / ".owner.lock").exists()
    assert removed_meanwhile == [Path("-")]  # the rival removed nothing


def test_a_killed_load_s_folder_is_removed(tmp_path: Path) -> None:
    """An owner file that nobody holds marks an abandoned folder."""
    warehouse = tmp_path / "warehouse.duckdb"
    dead = tmp_path / ".opspor-stage-dead"
    dead.mkdir()
    (dead / ".owner.lock").touch()
    assert remove_stale_staging(warehouse) == [dead]
    assert not dead.exists()
