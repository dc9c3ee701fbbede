"""Shared lists: copies cost the same whatever the length, and never see each other's changes."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

from treaty_ledger.domain.records import Record
from treaty_ledger.domain.shared_list import RecordLog, SharedList


def record(n: int) -> Record:
    return Record(id=f"e{n}", treaty="t", sequence=n, type="statement", date=date(2000, 1, 1), fields={}, source={},
                  recorded_at=datetime(2026, 1, 1, tzinfo=UTC), prev_hash="")


def test_a_copy_and_its_original_append_without_seeing_each_other() -> None:
    original = SharedList([1, 2, 3])
    copy = original.copy()
    copy.append(4)
    original.append(40)
    original.append(50)
    copy.append(5)
    assert list(original) == [1, 2, 3, 40, 50] and list(copy) == [1, 2, 3, 4, 5]
    assert original[-1] == 50 and copy[3:] == [4, 5] and len(copy) == 5


def test_appending_the_very_item_another_copy_appended_shares_it() -> None:
    original = SharedList(["a"])
    copy = original.copy()
    item = "b"
    copy.append(item)
    original.append(item)  # what the cache does when it fast-forwards the event a command saved
    original.append("c")
    assert list(copy) == ["a", "b"] and list(original) == ["a", "b", "c"]


def test_an_insert_or_a_deletion_in_a_copy_leaves_the_original_alone() -> None:
    original = SharedList([1, 3, 5])
    copy = original.copy()
    copy.insert(1, 2)
    del copy[0]
    assert list(copy) == [2, 3, 5] and list(original) == [1, 3, 5]
    assert copy == [2, 3, 5] and original != copy


def test_a_record_log_finds_only_the_records_of_its_own_length() -> None:
    log = RecordLog([record(1), record(2)])
    behind = log.copy()
    log.append(record(3))
    assert log.find("e3") == record(3) and behind.find("e3") is None
    behind.append(record(30))  # behind the shared end: takes a list of its own
    assert behind.find("e30") == record(30) and log.find("e30") is None
    assert behind.find("e1") == record(1) and log.find("e2") == record(2) and log.find("nothing") is None


def test_copies_appending_from_many_threads_each_keep_their_own_items() -> None:
    base = RecordLog([record(0)])
    copies = [base.copy() for _ in range(8)]
    start = threading.Barrier(len(copies))

    def append_all(index: int) -> None:
        start.wait()
        for n in range(1, 200):
            copies[index].append(record(index * 1000 + n))

    threads = [threading.Thread(target=append_all, args=(i,)) for i in range(len(copies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, copy in enumerate(copies):
        assert [r.id for r in copy] == ["e0", *(f"e{index * 1000 + n}" for n in range(1, 200))]
        assert all(copy.find(f"e{index * 1000 + n}") is not None for n in range(1, 200))
        assert copy.find(f"e{((index + 1) % 8) * 1000 + 1}") is None
    assert list(base) == [record(0)]
