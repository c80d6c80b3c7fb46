"""The windowed stream both taps build on: time windows fetched in parallel and emitted in order.

:class:`TimeWindowedStream` cuts the sync range into windows (`window_plan`), fetches them on
``max_workers`` threads (`ordered_fetch`) and emits them in order, moving the bookmark to a window's
end only once all its records are out. Requests are throttled and retried by `ThrottledStream`.
"""

from __future__ import annotations

import threading
import typing as t
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from connector_kit.errors import AuthError, WindowFailedError
from connector_kit.memory import release_free_memory
from connector_kit.ordered_fetch import Split, fetch_in_order
from connector_kit.packed_pages import (
    LOOSE_PAGE,
    EncodedPage,
    PackedPage,
    RawRecord,
    decode_record,
    encode_page,
)
from connector_kit.progress import Progress
from connector_kit.sdk_adapter import WindowedStreamHooks, request_pages, write_state
from connector_kit.sync_settings import duration_text
from connector_kit.throttled import ThrottledStream
from connector_kit.times import format_api_time, from_epoch_ms, parse_api_time, record_time_ms
from connector_kit.window_plan import PAGE_FILL, Window, equal_slices, plan_by_count, plan_windows

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

# A window whose first page says it holds this many pages or more is split rather than paged through:
# fewer would cost more requests split (one wasted page) than followed, and gain little parallelism.
SPLIT_AT = 3
# At most this many parts per worker from one split: a burst that makes the estimate huge does not
# become thousands of empty windows; a part still too full is split again when its turn comes.
SPLIT_FANOUT = 4


class TimeWindowedStream(WindowedStreamHooks, ThrottledStream):
    """An incremental stream read in time windows, fetched in parallel, emitted in order.

    The bookmark is the end of the last window whose records were all emitted (in the unit of
    the replication key: epoch ms for searches, an ISO date-time otherwise), so a killed run
    resumes at its first unfinished window. Records never move the bookmark themselves: some
    endpoints answer newest first, so a window is only done when its last page has arrived.
    """

    is_sorted = True
    key_unit: t.ClassVar[str] = "iso"  # the replication key's unit: "ms" or "s" since the epoch, or "iso"
    retention: t.ClassVar[timedelta | None] = None  # how far back the API serves data, if limited

    def window_params(self, window: Window) -> dict[str, t.Any]:
        """Query parameters that select one window; endpoints name them differently."""
        return {"startDateTime": window.start_param, "endDateTime": window.end_param}

    def sort_key(self, record: dict) -> tuple:
        """Records of a window in time order, whatever shape each one's time has (unreadable ones first:
        :meth:`check_replication_key` stops their window before anything is emitted)."""
        moment = record_time_ms(record.get(self.replication_key or ""), self.key_unit)
        return (moment if moment is not None else -1, str(record.get(self.primary_keys[0], "")))

    def sync_range(self, context: Context | None) -> tuple[datetime, datetime]:
        """``[bookmark or start_date, end)``, clipped to what the API still keeps."""
        start, end = self.settings.start, self.settings.end
        bookmark = self.bookmark_time(context)
        if bookmark is not None:
            start = max(start, bookmark)
        if self.retention is not None and start < end - self.retention:
            # The API refuses older starts (400); an hour's margin covers the run's own duration.
            kept = end - self.retention + timedelta(hours=1)
            self.logger.warning(
                "%s: the API keeps %d days of data; starting at %s instead of %s.",
                self.name,
                self.retention.days,
                format_api_time(kept),
                format_api_time(start),
            )
            start = kept
        return start, end

    @property
    def max_window(self) -> timedelta | None:
        """The longest window the API may be asked for at once; None when any range may be asked for."""
        return None

    def count_records(self, start: datetime, end: datetime) -> int | None:
        """How many records ``[start, end)`` holds, in one request, or None when the API cannot count.

        Streams whose API counts (Vision One's searches, ``mode=countOnly``) override this; their windows
        then follow the data (`plan_by_count`) instead of the fixed ``window_size`` grid.
        """
        return None

    def plan(self, start: datetime, end: datetime) -> tuple[list[Window], str]:
        """The windows of ``[start, end)`` and how they were planned, for the log line.

        With counts: ``max_workers`` equal slices counted at once (one round of requests), then about
        one page per window (`plan_by_count`). Without: the whole range as one window (or windows of
        `max_window`), which `_fetch_window` splits where its first page shows that it holds more.
        """
        if start >= end:
            return [], ""
        page_size = getattr(self, "page_size", None)
        step = max(1, int(self.settings.window_size.total_seconds()))
        counts = (
            self._count_slices(equal_slices(start, end, self.settings.max_workers, step))
            if page_size and type(self).count_records is not TimeWindowedStream.count_records
            else None  # the API cannot count this stream: no round of counting threads for nothing
        )
        if counts is None:
            longest = self.max_window
            if longest is None:
                return [Window(start, end)], "window, split if its first page is full"
            windows = plan_windows(start, end, longest)
            return (
                windows,
                f"windows of at most {duration_text(longest)}, each split if its first page is full",
            )
        slices, numbers = counts
        self.logger.info(
            "%s: %s..%s holds %d records",
            self.name,
            format_api_time(start),
            format_api_time(end),
            sum(numbers),
        )
        windows = plan_by_count(
            slices, numbers, page_size=int(page_size), workers=self.settings.max_workers, step=step
        )
        return windows, f"windows of about {page_size} records (counted)"

    def _count_slices(self, slices: list[Window]) -> tuple[list[Window], list[int]] | None:
        """Each slice's records, counted in parallel; None when the API cannot count one."""
        if len(slices) == 1:
            numbers = [self.count_records(slices[0].start, slices[0].end)]
        else:
            with ThreadPoolExecutor(max_workers=len(slices), thread_name_prefix="count") as pool:
                numbers = list(pool.map(lambda w: self.count_records(w.start, w.end), slices))
        if any(n is None for n in numbers):
            return None
        return slices, [int(n) for n in numbers if n is not None]

    def read_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        start, end = self.sync_range(context)
        self.stop_event = threading.Event()
        windows, how = self.plan(start, end)
        if not windows:
            self.logger.info(
                "%s: nothing to fetch, already synced up to %s", self.name, format_api_time(start)
            )
            return
        self.logger.info(
            "%s: fetching %s..%s in %d %s with %d workers",
            self.name,
            format_api_time(start),
            format_api_time(end),
            len(windows),
            how,
            self.settings.max_workers,
        )
        planned = len(windows)
        progress = Progress(self.logger, self.name)

        def on_split(window: Window, parts: list[Window]) -> None:
            nonlocal planned
            planned += len(parts) - 1
            self.logger.debug(
                "%s: window %s holds more than a page: fetching it as %d windows",
                self.name,
                window,
                len(parts),
            )

        done = fetch_in_order(
            windows,
            self._fetch_window,
            max_workers=self.settings.max_workers,
            stop=self.stop_event,
            fatal=(AuthError,),
            on_split=on_split,
        )
        as_text = self.passes_text()
        for window, pages in done:
            order = sorted((key, p, i) for p, page in enumerate(pages) for i, key in enumerate(page.keys))
            lines = [page.lines() for page in pages]
            briefs = [page.briefs for page in pages]
            del pages
            self._emitting = window
            if as_text:
                for _, p, i in order:
                    yield RawRecord(briefs[p][i], lines[p][i])
            else:
                for _, p, i in order:
                    yield decode_record(lines[p][i])
            count = len(order)
            del lines, briefs, order
            self._complete_window(context, window)
            release_free_memory()
            self.logger.debug("%s: window %s complete, %d records", self.name, window, count)
            progress.window_done(count, planned)
        progress.finish()

    def bookmark_time(self, context: Context | None) -> datetime | None:
        """The saved bookmark as a UTC datetime, whichever unit it was saved in."""
        state = self.get_context_state(context)
        value = state.get("replication_key_value")
        if state.get("replication_key") != self.replication_key or value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return from_epoch_ms(value * 1000 if self.key_unit == "s" else value)
        return parse_api_time(str(value))

    def bookmark_value(self, window: Window) -> int | str:
        if self.key_unit == "ms":
            return window.end_ms
        if self.key_unit == "s":
            return window.end_ms // 1000
        return window.end_param

    def pack(self, records: list[dict]) -> PackedPage:
        """Records as a `PackedPage` (compact JSON has no raw newline, so lines split them back)."""
        return self.encode(records).compressed()

    def pack_items(self, items: list[dict]) -> EncodedPage | None:
        """A page's records packed as the page is parsed: a client calls this under `PAGE_GATE`."""
        return self.encode(items)

    def encode(self, records: list[dict]) -> EncodedPage:
        """First half of `pack`: JSON lines, so the dicts can go (zlib then runs without the GIL)."""
        names = [*self.primary_keys, *([self.replication_key] if self.replication_key else [])]
        return encode_page(records, self.sort_key, names)

    def _fetch_window(self, window: Window) -> list[PackedPage] | Split:
        """A window's records, packed, waiting for their turn to be emitted; or its `Split` when its
        first page shows that it holds several pages' worth (see `split_window`).

        Pages may arrive packed already (Vision One packs them as it parses them, under
        `PAGE_GATE`); loose records are packed here a page at a time.
        """
        context = self.window_params(window)  # the window's query parameters; also the metrics context
        pages: list[PackedPage] = []
        try:
            for number, page in enumerate(request_pages(self, context)):
                packed = [item for item in page.items if isinstance(item, PackedPage)]
                loose = [item for item in page.items if not isinstance(item, PackedPage)]
                for first in range(0, len(loose), LOOSE_PAGE):
                    packed.append(self.pack(loose[first : first + LOOSE_PAGE]))
                del loose
                if number == 0 and page.more:
                    parts = self.split_window(window, packed, self.window_total(page.response))
                    if parts:
                        return Split(parts)
                del page
                pages.extend(packed)
            for page in pages:
                for brief in page.briefs:
                    self.check_replication_key(window, brief)
            return pages
        except Exception as exc:
            failure = self.final_failure(exc)
            if failure is None:
                raise
            stays = (
                f"; the bookmark stays at {window.start_param}, so the next run starts with this window."
                if failure.retried
                else ""
            )
            message = f"{self.name}: window {window} failed{failure.after_failed}{stays}"
            raise WindowFailedError(message) from None

    def window_total(self, first_page: requests.Response) -> int | None:
        """How many records the whole window holds, if its first page says so (a ``totalCount``)."""
        return None

    def split_window(self, window: Window, first_page: list[PackedPage], total: int | None) -> list[Window]:
        """The windows to fetch instead of ``window``, whose first page is full and has a next page;
        none when following the next links costs fewer requests.

        How many records the window holds: ``total`` when the API said (`window_total`), else an
        estimate from the first page's record times, which show how much of the window one page covers
        (the API answers from one end, newest or oldest first). At `SPLIT_AT` pages or more the window
        is cut into windows of about a page (`plan_by_count`), which the workers fetch in parallel; the
        first page's request is the price. An estimate yields at most `SPLIT_FANOUT` parts per worker (a
        burst must not become thousands of empty windows); a part still too full is split again.
        """
        per_page = sum(len(page.keys) for page in first_page)
        start_ms, end_ms = int(window.start.timestamp()) * 1000, window.end_ms
        if per_page < 2 or end_ms - start_ms < 2000:
            return []
        if total is None:
            times = [key[0] for page in first_page for key in page.keys if key and key[0] >= 0]
            if len(times) < 2:
                return []
            oldest, newest = min(times), max(times)
            # The page hugs the end it was read from; it covers from there to its farthest record.
            covered = end_ms - oldest if end_ms - newest <= oldest - start_ms else newest - start_ms
            most = per_page * PAGE_FILL * SPLIT_FANOUT * self.settings.max_workers
            total = int(min(per_page * (end_ms - start_ms) / max(covered, 1), most))
        if total < SPLIT_AT * per_page:
            return []
        step = 1  # parts need not sit on the grid: a resumed run asks for the same range anew
        parts = plan_by_count(
            [window], [total], page_size=per_page, workers=self.settings.max_workers, step=step
        )
        return parts if len(parts) > 1 else []

    def check_replication_key(self, window: Window, record: dict) -> None:
        """Stop at a record whose replication key cannot be read as a time, before any record of its
        window is emitted: the window's order and the bookmark depend on it. (Other fields are the
        target's to validate.)"""
        replication_key = self.replication_key or ""
        value = record.get(replication_key) if replication_key else None
        if value is None or record_time_ms(value, self.key_unit) is not None:
            return
        number = {"ms": "epoch milliseconds or ", "s": "epoch seconds or "}.get(self.key_unit, "")
        expected = f"a date-time ({number}ISO 8601 text)"
        keys = ", ".join(f"{key}={record.get(key)!r}" for key in self.primary_keys)
        raise WindowFailedError(
            f"{self.name}: window {window} failed: record {keys}: field {replication_key}: "
            f"{value!r} is not {expected}; the bookmark stays at {window.start_param}."
        )

    def check_record(self, record: dict) -> None:
        """Never emit a record without its primary key (checked after ``post_process``, which may derive
        it): downstream de-duplication needs it. The window's STATE is not written, so the bookmark
        stays before the window."""
        missing = [key for key in self.primary_keys if record.get(key) in (None, "")]
        if missing:
            window = getattr(self, "_emitting", None)
            where = f"window {window} failed: " if window is not None else ""
            stays = f"; the bookmark stays at {window.start_param}" if window is not None else ""
            replication_key = self.replication_key
            when = f" ({replication_key}={record.get(replication_key)!r})" if replication_key else ""
            raise WindowFailedError(
                f"{self.name}: {where}a record{when} has no `{missing[0]}` (its primary key){stays}."
            )

    def _complete_window(self, context: Context | None, window: Window) -> None:
        """Move the bookmark to the window's end and emit STATE, now that all its records are out."""
        state = self.get_context_state(context)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = self.bookmark_value(window)
        write_state(self)
