"""Lists that copies share: a copy costs the same whatever the length, appending stays cheap.

eventsourcing copies a cached aggregate for every command (so that a command that fails leaves
the cache as it was). A treaty's history and its fold's event order are long lists that a
command only appends to: a :class:`SharedList` lets the copy and the original share one list,
each seeing its own length. The first of them to append past the shared end appends in place;
one that is behind (the other appended meanwhile) copies its part first, and so does any change
other than an append at the end. :class:`RecordLog` adds a lookup of records by id.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Generic, Self, TypeVar, overload

from treaty_ledger.domain.records import Record

__all__ = ["RecordLog", "SharedList"]

T = TypeVar("T")


class _Store(Generic[T]):
    """The list that copies share, the lock their appends take, and (for a :class:`RecordLog`) its index by id."""

    __slots__ = ("index", "items", "lock")

    def __init__(self, items: list[T]) -> None:
        self.items = items
        self.lock = threading.Lock()
        self.index: dict[str, int] = {}


class SharedList(Sequence[T]):
    """A list whose copies (:meth:`copy`) share its items until one of them changes other than by appending."""

    __slots__ = ("_length", "_store")

    def __init__(self, items: Sequence[T] = ()) -> None:
        self._store = _Store(list(items))
        self._length = len(self._store.items)

    def copy(self) -> Self:
        """A copy sharing the items: appends to either do not show in the other."""
        other = object.__new__(type(self))
        other._store = self._store
        other._length = self._length
        return other

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._length)  # no copy of the whole list: only the slice
            return self._store.items[start:stop:step]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("index out of range")
        return self._store.items[index]

    def __iter__(self) -> Iterator[T]:
        items = self._store.items
        for position in range(self._length):
            yield items[position]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SharedList | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"

    def append(self, item: T) -> None:
        """Add ``item`` at the end: in place when this copy is at the shared end, else after copying its part."""
        store = self._store
        with store.lock:
            if len(store.items) == self._length:
                store.items.append(item)
                self._length += 1
                self._appended(item, self._length - 1)
                return
            if store.items[self._length] is item:  # another copy appended this very item: share it
                self._length += 1
                return
        self._own()
        self.append(item)

    def insert(self, index: int, item: T) -> None:
        """Insert ``item`` before ``index`` (an insert at the end is an append)."""
        if index >= self._length:
            self.append(item)
            return
        self._own()
        self._store.items.insert(index, item)
        self._length += 1
        self._reindexed()

    def __delitem__(self, index: int) -> None:
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("index out of range")
        self._own()
        del self._store.items[index]
        self._length -= 1
        self._reindexed()

    def _own(self) -> None:
        """Stop sharing: take a list of this copy's own items."""
        self._store = _Store(self._store.items[: self._length])
        self._reindexed()

    def _appended(self, item: T, position: int) -> None:
        """Called (holding the lock) after ``item`` was appended at ``position`` of the shared list."""

    def _reindexed(self) -> None:
        """Called after this copy took a list of its own, or changed other than by appending."""


class RecordLog(SharedList[Record]):
    """A treaty's recorded events, in recorded order, shared by copies, with a lookup by id.

    The index by id is shared too: it is only added to by appends at the shared end, and an
    entry counts for a copy only if it points inside that copy's length at a record with that id.
    """

    __slots__ = ()

    def __init__(self, items: Sequence[Record] = ()) -> None:
        super().__init__(items)
        self._reindexed()

    def find(self, event_id: str) -> Record | None:
        """The record with ``event_id``, if this log holds it."""
        store = self._store
        position = store.index.get(event_id)
        if position is None or position >= self._length:
            return None
        record = store.items[position]
        return record if record.id == event_id else None

    def _appended(self, item: Record, position: int) -> None:
        self._store.index[item.id] = position

    def _reindexed(self) -> None:
        self._store.index = {record.id: position for position, record in enumerate(self._store.items)}
