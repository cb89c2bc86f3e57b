"""The spool on disk: append-only segments, one cursor, two locks, a bound."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from floe_lineage_openlineage.delivery import StoredEvent
from floe_lineage_openlineage.spool import EventSpool, SpoolFullError
from floe_orchestration_core.errors import LineageError


def _line(n: int, size: int = 40) -> bytes:
    body = json.dumps({"n": n, "pad": "x" * max(0, size - 20)})
    return (body + "\n").encode()


def _numbers(spool: EventSpool, offset: int = 0) -> list[int]:
    return [json.loads(s.line)["n"] for s in spool.read_from(offset, limit=100_000)]


def test_appends_are_read_back_in_order_with_spool_wide_offsets(tmp_path: Path) -> None:
    spool = EventSpool(tmp_path, max_bytes=1 << 20)
    spans = [spool.append(_line(n)) for n in range(5)]
    assert spans[0][0] == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert _numbers(spool) == [0, 1, 2, 3, 4]
    assert _numbers(spool, spans[2][0]) == [2, 3, 4]
    assert spool.end_offset() == spans[-1][1]
    assert spool.count_from(spans[1][0]) == 4
    spool.sync()
    spool.close()
    spool.close()  # idempotent
    with pytest.raises(LineageError, match="closed"):
        spool.append(_line(9))


def test_segments_rotate_and_delivered_ones_are_deleted(tmp_path: Path) -> None:
    spool = EventSpool(tmp_path, max_bytes=1 << 20, segment_bytes=200)
    spans = [spool.append(_line(n, size=60)) for n in range(12)]
    segments = spool.segments()
    assert len(segments) == 3  # 4 lines of 60 bytes each: full at 200
    # each segment is named by the offset of its first byte
    assert segments[0][0] == 0
    assert all(base in {start for start, _ in spans} for base, _ in segments)
    assert _numbers(spool) == list(range(12))
    cursor = spans[7][1]
    spool.write_cursor(cursor, durable=True)
    spool.remove_delivered(cursor)
    assert spool.read_cursor() == cursor
    assert all(base + path.stat().st_size > cursor for base, path in spool.segments()[:-1])
    assert _numbers(spool, cursor) == [8, 9, 10, 11]
    # everything delivered: the newest segment stays, so offsets keep growing
    spool.remove_delivered(spool.end_offset())
    assert len(spool.segments()) == 1
    assert spool.append(_line(12))[0] == spans[-1][1]


def test_a_new_spool_after_its_segments_were_removed_starts_at_the_cursor(
    tmp_path: Path,
) -> None:
    spool = EventSpool(tmp_path, max_bytes=1 << 20)
    spool.append(_line(0))
    spool.write_cursor(500)
    spool.close()
    for _, path in EventSpool(tmp_path, max_bytes=1 << 20).segments():
        path.unlink()
    again = EventSpool(tmp_path, max_bytes=1 << 20)
    assert again.append(_line(1))[0] == 500  # offsets never go back: nothing is skipped


def test_a_full_spool_refuses_new_events_and_keeps_the_stored_ones(tmp_path: Path) -> None:
    spool = EventSpool(tmp_path, max_bytes=300, segment_bytes=100)
    stored = 0
    while spool.end_offset() + len(_line(stored)) <= 300:
        spool.append(_line(stored))
        stored += 1
    with pytest.raises(SpoolFullError, match="spool_max_bytes"):
        spool.append(_line(stored))
    assert 0 < stored < 10
    assert _numbers(spool) == list(range(stored))
    # room again once delivered segments are gone
    spool.write_cursor(spool.end_offset())
    spool.remove_delivered(spool.end_offset())
    spool.append(_line(1000))


def test_torn_lines_are_ended_by_the_next_append_and_read_back_as_they_are(
    tmp_path: Path,
) -> None:
    spool = EventSpool(tmp_path, max_bytes=1 << 20)
    spool.append(_line(0))
    (_, path) = spool.segments()[-1]
    with open(path, "ab") as handle:  # a crash in the middle of a write
        handle.write(b'{"n": 1, "pad": "xx')
    assert _numbers(spool) == [0]  # the torn tail of the newest segment is not returned yet
    spool.append(_line(2))
    lines = spool.read_from(0)
    assert [s.line for s in lines][1] == b'{"n": 1, "pad": "xx\n'
    assert json.loads(lines[2].line)["n"] == 2


def test_a_torn_tail_of_an_older_segment_is_returned_for_rejection(tmp_path: Path) -> None:
    spool = EventSpool(tmp_path, max_bytes=1 << 20, segment_bytes=64)
    spool.append(_line(0, size=70))
    (_, first) = spool.segments()[0]
    with open(first, "ab") as handle:
        handle.write(b'{"torn"')
    spool.append(_line(1))  # a new segment (the first is full)
    lines = spool.read_from(0)
    assert [s.line for s in lines][1] == b'{"torn"'
    assert json.loads(lines[2].line)["n"] == 1
    spool.reject(lines[1], "unreadable")
    assert spool.rejected_offsets() == {lines[1].start}
    assert spool.rejected_size() > 0


def test_one_process_at_a_time_holds_the_delivery_lock(tmp_path: Path) -> None:
    first = EventSpool(tmp_path, max_bytes=1 << 20)
    second = EventSpool(tmp_path, max_bytes=1 << 20)  # another descriptor: like a process
    assert first.lock_delivery()
    assert first.lock_delivery()  # re-entrant for its holder
    assert not second.lock_delivery()
    first.unlock_delivery()
    assert second.lock_delivery()
    second.close()  # releases it
    assert first.lock_delivery()


def test_a_killed_holder_releases_the_delivery_lock(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        from floe_lineage_openlineage.spool import EventSpool
        spool = EventSpool(Path({str(tmp_path)!r}), max_bytes=1 << 20)
        assert spool.lock_delivery()
        spool.append(b'{{"n": 1}}\\n')
        print("locked", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, check=False
    )
    assert result.stdout.strip() == b"locked"
    spool = EventSpool(tmp_path, max_bytes=1 << 20)
    assert spool.lock_delivery()
    assert _numbers(spool) == [1]  # appended before SIGKILL: kept


def test_a_cursor_that_cannot_be_read_counts_as_nothing_delivered(tmp_path: Path) -> None:
    spool = EventSpool(tmp_path, max_bytes=1 << 20)
    (tmp_path / "cursor.json").write_text("not json")
    assert spool.read_cursor() == 0
    (tmp_path / "rejected.jsonl").write_text('{"offset": 3}\nbroken\n')
    assert spool.rejected_offsets() == {3}


def test_an_unusable_folder_is_a_lineage_error_naming_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LineageError, match="spool_dir"):
        EventSpool(blocker / "spool", max_bytes=1 << 20)


def test_stored_events_read_as_attributes_like_the_client_s_events() -> None:
    event = StoredEvent(
        {"job": {"namespace": "ns", "name": "j"}, "run": {"facets": {}}, "eventType": "START"}
    )
    assert event.job.namespace == "ns"
    assert event.run.facets.get("parent") is None
    assert event.eventType == "START"
    assert not hasattr(event, "nothing")
    assert json.loads(json.dumps(event)) == dict(event)
    assert os.sep  # a dict: Serde.to_json serialises it as it is
