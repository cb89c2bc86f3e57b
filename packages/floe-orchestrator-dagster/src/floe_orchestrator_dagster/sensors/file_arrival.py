"""The file-arrival sensor: one run per file that lands in a folder.

A :class:`~floe_orchestration_core.artifacts.FileArrivalSensor` becomes a ``@sensor`` that
lists the files matching ``pattern`` in its folder. Its cursor (kept by Dagster's instance, so
it survives restarts) holds every file seen as ``relative path -> [size, mtime_ns]``; each tick
requests one run per file that is new or changed, in arrival order, with
``run_key = "<path>@<size>:<mtime_ns>"`` — Dagster never launches two runs with one key for a
sensor, so even a lost cursor cannot run a file twice — and the run tags
:data:`TRIGGER_FILE_TAG` (the file's absolute path) and :data:`SENSOR_TAG`. A file modified
less than ``settle_seconds`` ago is still being written: it waits for a later tick. A missing
folder is a skipped tick saying so. The job it runs is built with the definitions
(:func:`floe_orchestrator_dagster.definitions.jobs.file_arrival_job`).
"""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import dagster as dg

from floe_orchestration_core.artifacts import FileArrivalSensor

if TYPE_CHECKING:
    from floe_orchestrator_dagster.compat import UnresolvedAssetJobDefinition

__all__ = [
    "SENSOR_TAG",
    "TRIGGER_FILE_TAG",
    "FileScan",
    "SeenFile",
    "decode_file_cursor",
    "encode_file_cursor",
    "file_arrival_sensor",
    "scan_folder",
]

#: Run tag: the absolute path of the file a run was requested for.
TRIGGER_FILE_TAG = "floe/trigger_file"
#: Run tag: the name of the file-arrival sensor that requested the run.
SENSOR_TAG = "floe/sensor"


@attrs.frozen
class SeenFile:
    path: str  # relative to the watched folder, '/'-separated
    size: int
    mtime_ns: int

    @property
    def run_key(self) -> str:
        return f"{self.path}@{self.size}:{self.mtime_ns}"


@attrs.frozen
class FileScan:
    """One look at the folder: files to run for (arrival order), files still being written,
    and the cursor to store."""

    new: tuple[SeenFile, ...]
    settling: tuple[str, ...]
    seen: Mapping[str, tuple[int, int]]


def decode_file_cursor(cursor: str | None) -> dict[str, tuple[int, int]]:
    """The files a cursor records; an empty or unreadable cursor records none."""
    if not cursor:
        return {}
    try:
        files = json.loads(cursor)["files"]
        return {str(path): (int(size), int(mtime)) for path, (size, mtime) in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def encode_file_cursor(seen: Mapping[str, tuple[int, int]]) -> str:
    return json.dumps(
        {"v": 1, "files": {path: list(sig) for path, sig in sorted(seen.items())}},
        separators=(",", ":"),
    )


def scan_folder(
    folder: Path,
    pattern: str,
    seen: Mapping[str, tuple[int, int]],
    *,
    settle_seconds: float,
    now_ns: int | None = None,
) -> FileScan:
    """Compare the files matching ``pattern`` in ``folder`` with what ``seen`` records.

    ``pattern`` is matched against the path relative to ``folder`` (``*.csv``; ``**/*.csv``
    also looks in sub-folders). Files that vanished are forgotten.
    """
    now = time.time_ns() if now_ns is None else now_ns
    settle_ns = int(settle_seconds * 1e9)
    recursive = "/" in pattern
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    new: list[SeenFile] = []
    settling: list[str] = []
    next_seen: dict[str, tuple[int, int]] = {}
    for entry in candidates:
        relative = entry.relative_to(folder).as_posix()
        if not fnmatch.fnmatchcase(relative, pattern) and not (
            recursive and pattern.startswith("**/") and _matches_at_top(relative, pattern)
        ):
            continue
        try:
            if not entry.is_file():
                continue
            stat = entry.stat()
        except OSError:
            continue  # vanished between listing and stat
        signature = (stat.st_size, stat.st_mtime_ns)
        if now - stat.st_mtime_ns < settle_ns:
            settling.append(relative)
            if relative in seen:
                next_seen[relative] = seen[relative]
            continue
        next_seen[relative] = signature
        if seen.get(relative) != signature:
            new.append(SeenFile(relative, *signature))
    new.sort(key=lambda f: (f.mtime_ns, f.path))
    return FileScan(new=tuple(new), settling=tuple(sorted(settling)), seen=next_seen)


def _matches_at_top(relative: str, pattern: str) -> bool:
    """``**/*.csv`` also matches ``a.csv`` at the folder's top."""
    return "/" not in relative and fnmatch.fnmatchcase(relative, pattern[3:])


def file_arrival_sensor(
    config: FileArrivalSensor,
    folder: Path,
    job: UnresolvedAssetJobDefinition,
    settle_seconds: float,
) -> dg.SensorDefinition:
    @dg.sensor(
        name=config.name,
        job=job,
        minimum_interval_seconds=config.minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING
        if config.enabled
        else dg.DefaultSensorStatus.STOPPED,
        description=config.description
        or f"floe: one run of {config.selection!r} per new file {config.pattern!r} in {folder}",
    )
    def file_arrival(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if not folder.is_dir():
            return dg.SkipReason(f"folder {folder} does not exist (yet); no file to run for")
        scan = scan_folder(
            folder,
            config.pattern,
            decode_file_cursor(context.cursor),
            settle_seconds=settle_seconds,
        )
        cursor = encode_file_cursor(scan.seen)
        if not scan.new:
            context.update_cursor(cursor)
            waiting = f"; still being written: {', '.join(scan.settling)}" if scan.settling else ""
            return dg.SkipReason(f"no new file matching {config.pattern!r} in {folder}{waiting}")
        requests = [
            dg.RunRequest(
                run_key=file.run_key,
                tags={TRIGGER_FILE_TAG: str(folder / file.path), SENSOR_TAG: config.name},
            )
            for file in scan.new
        ]
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return file_arrival
