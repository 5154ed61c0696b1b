"""The job table's index: the sort modes, their sort keys and the incremental merge of sort entries."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable

from jobwatch.statuses import rank as status_rank
from jobwatch.tui.model import JobRow

SORT_MODES: tuple[str, ...] = ("last change", "first seen", "status", "workflowId")


def _key_last_change(row: JobRow) -> tuple:
    return (-row.last_change, row.workflow_id)


def _key_first_seen(row: JobRow) -> tuple:
    return (-row.first_seen, row.workflow_id)


def _key_status(row: JobRow) -> tuple:
    return (status_rank(row.status.code), -row.last_change, row.workflow_id)


def _key_workflow_id(row: JobRow) -> tuple:
    return (row.workflow_id.casefold(), row.workflow_id)


_SORT_KEYS: dict[str, Callable[[JobRow], tuple]] = {
    "last change": _key_last_change,
    "first seen": _key_first_seen,
    "status": _key_status,
    "workflowId": _key_workflow_id,
}


def _merge(ordered: list[tuple], remove: Iterable[tuple], add: Iterable[tuple]) -> list[tuple]:
    """A sorted copy of `ordered` without the `remove` entries (by identity) and with the `add` ones.

    O(k log n) comparisons and O(n) C-level copying for k changes among n rows: the unchanged rows
    are never compared again. Entries already present are not added twice.
    """
    drop = set()
    n = len(ordered)
    for entry in remove:
        i = bisect_left(ordered, entry)
        if i < n and ordered[i] is entry:
            drop.add(i)
    kept: list[tuple] = []
    start = 0
    for i in sorted(drop):
        kept.extend(ordered[start:i])
        start = i + 1
    kept.extend(ordered[start:])
    fresh = sorted({id(entry): entry for entry in add}.values())
    if not fresh:
        return kept
    merged: list[tuple] = []
    n = len(kept)
    start = 0
    for entry in fresh:
        i = bisect_left(kept, entry, start)
        if i < n and kept[i] is entry:
            continue
        merged.extend(kept[start:i])
        merged.append(entry)
        start = i
    merged.extend(kept[start:])
    return merged
