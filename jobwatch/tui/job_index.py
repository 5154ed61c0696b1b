"""The job index behind the dashboard's table: rows by workflowId, sorted and filtered, kept in order
incrementally. No Textual here; jobwatch.tui.widgets.job_table draws what this holds.

Each row has a sort entry: a tuple of its sort fields ending with its workflowId, so that no two
entries tie and an entry names its row. The display order is a list of entries, sorted and
filtered, rebuilt lazily (on the first read after a change) and incrementally: the entries of
changed rows are dropped by identity and the new ones bisected in (`merge`), so the unchanged rows
are not compared again. Only when a large share of the rows changed is everything sorted once.

Pinned rows come first in every sort (each sort entry starts with False for a pinned row, True
for the others) and pass every filter: a person pins the jobs they want in view whatever else
they do. The text filter matches a row's label too. The extra item costs a full sort of 100k
entries 47 ms instead of 32 and a bisect ~20% more (best of 7, 2 cores); folding the pin into
the first item instead would save that at the price of one trick per sort mode.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from operator import itemgetter
from typing import Any

from jobwatch.statuses import rank as status_rank
from jobwatch.tui.model import JobRow

#: a row's place in a sort: pinned first (0), its sort fields, then its workflowId (the last
#: item, always)
SortEntry = tuple[Any, ...]

SORT_MODES: tuple[str, ...] = ("last change", "first seen", "status", "workflowId")


def _key_last_change(row: JobRow) -> SortEntry:
    return (not row.pinned, -row.last_change, row.workflow_id)


def _key_first_seen(row: JobRow) -> SortEntry:
    return (not row.pinned, -row.first_seen, row.workflow_id)


def _key_status(row: JobRow) -> SortEntry:
    return (not row.pinned, status_rank(row.status.code), -row.last_change, row.workflow_id)


def _key_workflow_id(row: JobRow) -> SortEntry:
    return (not row.pinned, row.workflow_id.casefold(), row.workflow_id)


SORT_KEYS: dict[str, Callable[[JobRow], SortEntry]] = {
    "last change": _key_last_change,
    "first seen": _key_first_seen,
    "status": _key_status,
    "workflowId": _key_workflow_id,
}

#: The sorts in which, after the pinned rows, a row's place is one column of the history
#: descending, then its workflowId (the keys above): a restart's first screen is among the pinned
#: jobs and the FIRST_SCREEN_ROWS latest in that column (jobwatch.store.history_reads.leading_jobs),
#: found without reading every job. tests/unit/test_job_index.py holds the two to each other.
LEADING_COLUMN: dict[str, str] = {"last change": "last_change", "first seen": "first_seen"}

#: Everything is sorted again, instead of merged, once the entries to move reach 1/FULL_SORT_RATIO
#: of all entries (a changed row counts twice: its old entry out, its new one in). Measured at 100k
#: rows on the 2-core development machine: changing 1% of the rows merges in 12 ms where a full
#: sort takes 58 ms; 5%: 38 ms; the two meet near 11% changed rows. 1/8 switches at about 6%.
FULL_SORT_RATIO = 8


def merge(
    ordered: list[SortEntry], remove: Iterable[SortEntry], add: Iterable[SortEntry]
) -> list[SortEntry]:
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
    kept: list[SortEntry] = []
    start = 0
    for i in sorted(drop):
        kept.extend(ordered[start:i])
        start = i + 1
    kept.extend(ordered[start:])
    fresh = sorted({id(entry): entry for entry in add}.values())
    if not fresh:
        return kept
    merged: list[SortEntry] = []
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


#: At most this many rows on screen are refilled from a batch that holds them all, instead of
#: merged with it (`_replaces_all`): the first answer's rows after its first screen.
REFILL_AT_MOST = 1000


def _replaces_all(stored: dict[str, JobRow], rows: Collection[JobRow]) -> bool:
    """Whether `rows` holds a row of every workflowId in `stored` (a few rows, many coming)."""
    if len(stored) > REFILL_AT_MOST or len(rows) < 2 * len(stored):
        return False
    wanted = set(stored)
    for row in rows:
        wanted.discard(row.workflow_id)
        if not wanted:
            return True
    return False


#: The first answer of a large workspace shows its first screen of rows before the rest
#: (`first_screen`, jobwatch.tui.poll_session): FIRST_SCREEN_ROWS rows, at least this many in all.
FIRST_SCREEN_AFTER = 5000
#: rows in the first screen: more than a tall terminal shows
FIRST_SCREEN_ROWS = 200


def first_screen(rows: Collection[JobRow], sort_mode: str) -> list[JobRow]:
    """The FIRST_SCREEN_ROWS rows that come first in `sort_mode` (the index's whole sort would put
    them at the top, in this order), found without sorting the rest."""
    return heapq.nsmallest(FIRST_SCREEN_ROWS, rows, key=SORT_KEYS[sort_mode])


#: A full sort groups the entries by everything but their workflowId first when there are at most
#: len/GROUPED_SORT_SHARE groups (`sorted_entries`).
GROUPED_SORT_SHARE = 8
_workflow_id_of = itemgetter(-1)


def sorted_entries(entries: Collection[SortEntry]) -> list[SortEntry]:
    """`sorted(entries)`, faster when many entries differ only in their workflowId.

    The first answer's rows all share their first seen and last change (the moment it came), so
    sorting their tuples compared pin, time and ID as objects for every pair: 117-148 ms at 100k
    rows on the 2-core machine. Grouped by the rest of the entry (one dict pass) and each group
    sorted by its IDs alone (plain str comparisons), 40-56 ms. With many distinct prefixes (e.g.
    every row changed at its own time) the grouping gives up after len/GROUPED_SORT_SHARE groups
    and the tuples are sorted as before (~2 ms more at 100k).
    """
    if entries:
        first = next(iter(entries))
        prefix_of = itemgetter(*range(len(first) - 1))
        if len(set(map(prefix_of, entries))) == 1:
            # one group (the first answer, nothing pinned): no grouping loop, 100k ~62 -> ~40 ms
            return sorted(entries, key=_workflow_id_of)
    limit = len(entries) // GROUPED_SORT_SHARE
    groups: dict[SortEntry, list[SortEntry]] = {}
    for entry in entries:
        prefix = entry[:-1]
        group = groups.get(prefix)
        if group is None:
            if len(groups) >= limit:
                return sorted(entries)
            groups[prefix] = group = []
        group.append(entry)
    ordered: list[SortEntry] = []
    for prefix in sorted(groups):
        ordered.extend(sorted(groups[prefix], key=_workflow_id_of))
    return ordered


#: a step of `Refill.sort_step` merges at most twice this many entries (~2-4 ms at 100k rows)
MERGE_STEP = 2000


def _merge_in_steps(
    a: list[SortEntry], b: list[SortEntry], size: int
) -> Generator[None, None, list[SortEntry]]:
    """The merge of two sorted lists of distinct entries, yielding after each part of at most
    `size` entries of each (cut where both have passed the smaller of their parts' last entries:
    whatever of either is not past it lies within its part)."""
    merged: list[SortEntry] = []
    i = j = 0
    while i < len(a) and j < len(b):
        a_end, b_end = min(i + size, len(a)), min(j + size, len(b))
        pivot = min(a[a_end - 1], b[b_end - 1])
        a_cut, b_cut = bisect_right(a, pivot, i, a_end), bisect_right(b, pivot, j, b_end)
        part = a[i:a_cut] + b[j:b_cut]
        part.sort()  # two sorted runs: one merge pass
        merged += part
        i, j = a_cut, b_cut
        yield
    merged += a[i:]
    merged += b[j:]
    return merged


class Refill:
    """Every row a JobIndex is to hold, gathered a slice at a time (`add`) and sorted a bounded
    step at a time (`sort_step`), then put in place at once (`JobIndex.refill`): no step handles
    every row. Each slice's entries are sorted on their own, then the runs are merged pairwise in
    parts of MERGE_STEP, about the comparisons of one sort of them all (one sort of 100k: ~60 ms
    on the 2-core machine, held at once)."""

    def __init__(self, sort_mode: str) -> None:
        self.sort_mode = sort_mode
        self._key = SORT_KEYS[sort_mode]
        self.rows: dict[str, JobRow] = {}
        self.entries: dict[str, SortEntry] = {}
        self._runs: list[list[SortEntry]] = []
        self._sorting: Iterator[None] | None = None
        self._ordered: list[SortEntry] | None = None

    def add(self, rows: Iterable[JobRow]) -> None:
        """Take these rows (a workflowId seen again: its last row), before any `sort_step`."""
        key = self._key
        stored = self.rows
        entries = self.entries
        run: list[SortEntry] = []
        for row in rows:
            wid = row.workflow_id
            stored[wid] = row
            entries[wid] = entry = key(row)
            run.append(entry)
        if run:
            self._runs.append(sorted_entries(run))

    def sort_step(self) -> bool:
        """Do one bounded part of sorting what was added; False once it is sorted."""
        if self._ordered is not None:
            return False
        if self._sorting is None:
            self._sorting = self._sort()
        next(self._sorting, None)
        return self._ordered is None

    def ordered(self) -> list[SortEntry]:
        """Every entry, sorted (the steps left done now). Do not modify it."""
        while self.sort_step():
            pass
        assert self._ordered is not None
        return self._ordered

    def _sort(self) -> Iterator[None]:
        runs, entries = self._runs, self.entries
        if sum(map(len, runs)) != len(entries):  # a workflowId came twice: its earlier entry goes
            runs = [[entry for entry in run if entries[entry[-1]] is entry] for run in runs]
            yield
        while len(runs) > 1:
            merged = []
            for k in range(0, len(runs) - 1, 2):
                merged.append((yield from _merge_in_steps(runs[k], runs[k + 1], MERGE_STEP)))
            if len(runs) % 2:
                merged.append(runs[-1])
            runs = merged
        self._runs = []
        self._ordered = runs[0] if runs else []


class Change(Enum):
    """What an upsert changed, so that its caller repaints no more than it must."""

    NONE = 0  #: every row equalled the stored one
    ROWS = 1  #: rows changed, but neither their order nor which of them pass the filters
    ORDER = 2  #: the display order may have changed (it is rebuilt on the next read)


@dataclass(frozen=True, slots=True)
class Rebuild:
    """What the last rebuild of the order did."""

    full: bool  #: every entry was sorted (else the changed ones were merged in)
    moved: int  #: entries taken out of or put into the order (every entry for a full sort)


@dataclass(frozen=True, slots=True)
class View:
    """A cursor on a scrolled window of the order: what `JobIndex.follow` keeps in step."""

    key: str | None  #: the cursor's workflowId
    entry: SortEntry | None  #: the cursor row's entry when it was last placed
    position: int  #: the cursor's position in the order, -1 for none
    scroll: int  #: the position shown on the first line under the header
    height: int  #: lines of the window, the header's included

    @property
    def body(self) -> int:
        """How many rows fit under the header."""
        return max(0, self.height - 1)


class JobIndex:
    """Rows keyed by workflowId, in the order of one of SORT_MODES, filtered by text and status."""

    def __init__(self) -> None:
        self._rows: dict[str, JobRow] = {}
        #: upsert calls so far; a row's version is the generation that stored it
        self.generation = 0
        self._versions: dict[str, int] = {}
        # the version of the rows the first upsert filled in (`_fill`) and none has replaced
        self._filled = 0
        self._sort = SORT_MODES[0]
        self._key = SORT_KEYS[self._sort]
        # workflowId -> its current sort entry; an entry in _sorted is live only if it *is* this object
        self._entries: dict[str, SortEntry] = {}
        # every entry in sort order as of the last rebuild, filtered or not
        self._sorted: list[SortEntry] = []
        # entries made since the last rebuild (some may already be replaced again)
        self._pending: list[SortEntry] = []
        # replaced or removed entries that may still sit in _sorted
        self._stale: list[SortEntry] = []
        # rows whose filter membership flipped since the last rebuild (their entry may be unchanged)
        self._flipped: set[str] = set()
        self._refiltered = False
        # _sorted without the rows the filters hide: what is shown
        self._order: list[SortEntry] = []
        self._dirty = False
        self._text_filter = ""
        self._status_filter: frozenset[int] | None = None
        #: workflowIds that pass the filters, None while no filter is set
        self._matching: set[str] | None = None
        self.last_rebuild: Rebuild | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[JobRow]:
        return iter(self._rows.values())

    def __contains__(self, workflow_id: object) -> bool:
        return workflow_id in self._rows

    def row(self, workflow_id: str) -> JobRow | None:
        return self._rows.get(workflow_id)

    def version(self, workflow_id: str) -> int:
        """The generation that stored the row (raises KeyError for an unknown one)."""
        version = self._versions.get(workflow_id)
        if version is not None:
            return version
        if workflow_id in self._rows:
            return self._filled
        raise KeyError(workflow_id)

    # ----------------------------------------------------------------- rows

    def upsert(self, rows: Iterable[JobRow]) -> Change:
        """Add rows, or replace the rows with the same workflowId."""
        if self._matching is None:
            if not self._rows:
                return self._fill(rows)
            if isinstance(rows, Collection) and _replaces_all(self._rows, rows):
                # the whole first answer after its first screen (`first_screen`)
                return self._fill(rows)
        stored = self._rows
        versions = self._versions
        entries = self._entries
        pending = self._pending
        stale = self._stale
        key = self._key
        matching = self._matching
        matches = self.matches
        self.generation += 1
        generation = self.generation
        changed = False
        reorder = False
        for row in rows:
            wid = row.workflow_id
            old = stored.get(wid)
            if old is not None and old == row:
                continue
            stored[wid] = row
            versions[wid] = generation
            changed = True
            entry = key(row)
            if old is None:
                entries[wid] = entry
                pending.append(entry)
                reorder = True
            else:
                previous = entries[wid]
                if previous != entry:
                    stale.append(previous)
                    entries[wid] = entry
                    pending.append(entry)
                    reorder = True
            if matching is not None:
                if matches(row):
                    if wid not in matching:
                        matching.add(wid)
                        self._flipped.add(wid)
                        reorder = True
                elif wid in matching:
                    matching.discard(wid)
                    self._flipped.add(wid)
                    reorder = True
        if reorder:
            self._dirty = True
            return Change.ORDER
        return Change.ROWS if changed else Change.NONE

    def _fill(self, rows: Iterable[JobRow]) -> Change:
        """`upsert` into an empty index without filters (the first answer), or one whose every
        row `rows` replaces: the same state in a few C-level passes, 100k rows 50-62 -> 37-44 ms
        (2 cores, 3 runs)."""
        self.generation += 1
        stored = {row.workflow_id: row for row in rows}  # a workflowId twice: the last one
        if not stored:
            return Change.NONE
        # a refill replaces every entry: the next rebuild sorts them all (the order it had
        # stays, for the cursor to follow its row)
        self._pending, self._stale = [], []
        key = self._key
        self._rows = stored
        self._versions = {}  # all are `_filled`: no dict of 100k equal versions (~10 ms)
        self._filled = self.generation
        self._entries = entries = {wid: key(row) for wid, row in stored.items()}
        self._pending.extend(entries.values())
        self._dirty = True
        return Change.ORDER

    def refill(self, fill: Refill) -> Change:
        """Hold exactly the rows of `fill`, whose work is done (a sort mode changed since it began
        costs a pass over every row; so does a filter set)."""
        if not fill.rows:
            return Change.ORDER if self.remove(list(self._rows)) else Change.NONE
        if fill.sort_mode != self._sort or self._matching is not None:
            change = self._fill(fill.rows.values())
            if self._matching is not None:
                self._refilter()
            return change
        self.generation += 1
        self._rows = fill.rows
        self._versions = {}
        self._filled = self.generation
        self._entries = fill.entries
        self._sorted = fill.ordered()
        self._pending, self._stale, self._flipped = [], [], set()
        # the next rebuild moves nothing: it copies the order and returns the one it had
        self._dirty = True
        return Change.ORDER

    def remove(self, ids: Iterable[str]) -> bool:
        """Remove the rows with these workflowIds (unknown ones are ignored); True if any was there."""
        removed = False
        for wid in ids:
            if self._rows.pop(wid, None) is not None:
                self._stale.append(self._entries.pop(wid))
                self._versions.pop(wid, None)
                if self._matching is not None:
                    self._matching.discard(wid)
                removed = True
        if removed:
            self._dirty = True
        return removed

    def clear(self) -> None:
        """Remove every row; the sort and the filters stay."""
        self._rows.clear()
        self._entries.clear()
        self._versions.clear()
        self._sorted = []
        self._pending = []
        self._stale = []
        self._flipped = set()
        self._order = []
        if self._matching is not None:
            self._matching = set()
        self._dirty = False

    # ------------------------------------------------------ sort and filter

    @property
    def sort_mode(self) -> str:
        return self._sort

    def next_sort_mode(self) -> str:
        """The sort mode after the current one in SORT_MODES (wrapping around)."""
        index = SORT_MODES.index(self._sort)
        return SORT_MODES[(index + 1) % len(SORT_MODES)]

    def set_sort(self, name: str) -> bool:
        """Sort by one of SORT_MODES (ValueError for another name); True if the sort changed."""
        if name not in SORT_KEYS:
            raise ValueError(f"unknown sort {name!r}; expected one of {', '.join(SORT_MODES)}")
        if name == self._sort:
            return False
        self._sort = name
        self._key = key = SORT_KEYS[name]
        self._entries = {wid: key(row) for wid, row in self._rows.items()}
        self._sorted = []
        self._stale = []
        self._pending = list(self._entries.values())
        self._dirty = True
        return True

    @property
    def text_filter(self) -> str:
        return self._text_filter

    @property
    def status_filter(self) -> frozenset[int] | None:
        return self._status_filter

    def set_text_filter(self, text: str) -> bool:
        """Keep only rows whose workflowId, runId or label contains `text` (case-insensitive);
        "" keeps all (pinned rows pass whatever the filter).

        True if the filter changed.
        """
        text = text.strip().casefold()
        if text == self._text_filter:
            return False
        self._text_filter = text
        self._refilter()
        return True

    def set_status_filter(self, codes: Iterable[int] | None) -> bool:
        """Keep only rows with one of these status codes; None keeps all. True if it changed."""
        wanted = None if codes is None else frozenset(codes)
        if wanted == self._status_filter:
            return False
        self._status_filter = wanted
        self._refilter()
        return True

    def matches(self, row: JobRow) -> bool:
        """Whether the row passes both filters (a pinned row always does)."""
        if row.pinned:
            return True
        codes = self._status_filter
        if codes is not None and row.status.code not in codes:
            return False
        text = self._text_filter
        return (
            not text
            or text in row.workflow_id.casefold()
            or text in row.run_id.casefold()
            or (row.label is not None and text in row.label.casefold())
        )

    def _refilter(self) -> None:
        if not self._text_filter and self._status_filter is None:
            self._matching = None
        else:
            matches = self.matches
            self._matching = {wid for wid, row in self._rows.items() if matches(row)}
        self._refiltered = True
        self._dirty = True

    # ------------------------------------------------------- order (lazy)

    @property
    def dirty(self) -> bool:
        """Whether the order must be rebuilt before it is read."""
        return self._dirty

    def rebuild(self) -> list[SortEntry] | None:
        """Bring the order up to date; returns the previous order, or None if it was up to date.

        Every reader below calls this first. A caller that keeps something on screen in step with
        the order (a cursor, a scroll position) calls it itself to learn what the order was.
        """
        if not self._dirty:
            return None
        self._dirty = False
        entries = self._entries
        pending = self._pending
        stale = self._stale
        flipped = self._flipped
        refiltered = self._refiltered
        self._pending = []
        self._stale = []
        self._flipped = set()
        self._refiltered = False
        get = entries.get
        moved = len(pending) + len(stale) + len(flipped)
        full = moved * FULL_SORT_RATIO >= len(entries)
        # the pending entries still current: only a merge needs them (100k of them: ~15 ms)
        live = [] if full else [entry for entry in pending if get(entry[-1]) is entry]
        ordered = sorted_entries(entries.values()) if full else merge(self._sorted, stale, live)
        self._sorted = ordered
        self.last_rebuild = Rebuild(full, len(entries) if full else moved)
        matching = self._matching
        previous = self._order
        if matching is None:
            self._order = ordered
        elif full or refiltered:
            self._order = [entry for entry in ordered if entry[-1] in matching]
        else:
            remove = stale + [entries[w] for w in flipped if w in entries and w not in matching]
            add = [entry for entry in live if entry[-1] in matching]
            add += [entries[w] for w in flipped if w in matching and w in entries]
            self._order = merge(previous, remove, add)
        return previous

    @property
    def order(self) -> list[SortEntry]:
        """The entries of the rows that pass the filters, in sort order. Do not modify it."""
        if self._dirty:
            self.rebuild()
        return self._order

    @property
    def visible_count(self) -> int:
        """Rows that pass the filters."""
        return len(self.order)

    def keys(self, start: int = 0, stop: int | None = None) -> list[str]:
        """workflowIds in display order (a slice of it)."""
        return [entry[-1] for entry in self.order[start:stop]]

    def key_at(self, position: int) -> str:
        """The workflowId shown at `position` (IndexError outside the order)."""
        return self.order[position][-1]

    def position(self, workflow_id: str) -> int | None:
        """Where the row is shown, or None if it is unknown or filtered out."""
        entry = self._entries.get(workflow_id)
        if entry is None or (self._matching is not None and workflow_id not in self._matching):
            return None
        return bisect_left(self.order, entry)

    def nearest(
        self, workflow_id: str | None, remembered: SortEntry | None
    ) -> tuple[str | None, int]:
        """Where a cursor on `workflow_id` goes once the order changed: (workflowId, position).

        Its own row if still shown; if it is filtered out, the next shown row in sort order; if
        it is gone, the row after the place its `remembered` entry had. The first row when there is
        nothing to go by, (None, -1) when nothing is shown.
        """
        order = self.order
        target = self._entries.get(workflow_id) if workflow_id is not None else None
        if target is None:
            target = remembered
        if not order:
            return None, -1
        if target is None:
            return order[0][-1], 0
        pos = min(bisect_left(order, target), len(order) - 1)
        return order[pos][-1], pos

    def follow(self, old_order: list[SortEntry], view: View) -> View:
        """Where the cursor and the scrolled window go now that the order changed from `old_order`.

        The cursor stays on its job (see `nearest`). If the cursor was on screen it stays on the
        same screen line; otherwise the row that was at the top stays at the top.
        """
        order = self.order
        scroll = view.scroll
        old_pos = view.position
        cursor_visible = 0 <= old_pos - scroll < view.body and old_pos < len(old_order)
        anchor_line = old_pos - scroll if cursor_visible else 0
        anchor = None
        if not cursor_visible and 0 <= scroll < len(old_order):
            top = old_order[scroll]
            anchor = self._entries.get(top[-1], top)
        key, pos = self.nearest(view.key, view.entry)
        if pos >= 0 and (cursor_visible or old_pos < 0):
            new_scroll = pos - anchor_line
        elif anchor is not None:
            new_scroll = bisect_left(order, anchor)
        else:
            new_scroll = scroll
        # not past the end: the last row on the bottom line at the lowest (header: one line)
        new_scroll = max(0, min(new_scroll, len(order) + 1 - view.height))
        return View(key, order[pos] if pos >= 0 else view.entry, pos, new_scroll, view.height)
