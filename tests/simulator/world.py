"""Everything one simulator serves, generated lazily from (seed, scale, start, days, now), and the route
table from API path to the function that answers it.

Stream names are the tap's (see :data:`PATHS`); :meth:`World.expected` gives the records a tap should
receive for a stream and a window, with the same rules the endpoints apply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from tests.simulator import activities, audit, endpoints, iam, oat, response, threatintel, workbench
from tests.simulator.common import Call, in_window, to_datetime
from tests.simulator.daily import DayRecords, RowStore, _QueryCache
from tests.simulator.data import Dataset
from tests.simulator.detections import PATH as DETECTIONS_PATH
from tests.simulator.live import Live
from tests.simulator.query import DETECTIONS, Language
from tests.simulator.search import search

When = str | date | datetime | None

PATHS: dict[str, str] = {
    "detections": DETECTIONS_PATH,
    **{a.stream: a.path for a in activities.ACTIVITIES},
    "workbench_alerts": workbench.PATH,
    "oat_detections": oat.PATH,
    "audit_logs": audit.PATH,
    "response_tasks": response.TASKS_PATH,
    "iam_accounts": iam.ACCOUNTS_PATH,
    "api_keys": iam.API_KEYS_PATH,
    "custom_scripts": response.SCRIPTS_PATH,
    "suspicious_objects": threatintel.SUSPICIOUS_PATH,
    "exception_objects": threatintel.EXCEPTIONS_PATH,
    "endpoints": endpoints.PATH,
}
# windowed streams: the replication-key field the window applies to
WINDOW_FIELDS = {
    "detections": "eventTime",
    **{a.stream: "eventTime" for a in activities.ACTIVITIES},
    "workbench_alerts": "updatedDateTime",
    "oat_detections": "ingestedDateTime",
    "audit_logs": "loggedDateTime",
    "response_tasks": "lastActionDateTime",
}


def _ms(value: When) -> int | None:
    return None if value is None else int(to_datetime(value).timestamp() * 1000)


def _dt(value: When) -> datetime | None:
    return None if value is None else to_datetime(value)


class World:
    """The data of every family; each is built on first use (families by day, lists as a whole)."""

    def __init__(
        self, seed: int, scale: int, start: str | date, days: int, now: str | datetime | None
    ) -> None:
        self.detections = Dataset(seed, scale, start, days)
        self.seed, self.scale, self.days = seed, scale, days
        self.start_day = self.detections.start_day
        end = datetime(self.start_day.year, self.start_day.month, self.start_day.day, tzinfo=UTC)
        self.now = (to_datetime(now) if now is not None else end + timedelta(days=days)).replace(
            microsecond=0
        )
        self._lock = threading.Lock()
        self.audit_queries = _QueryCache()
        self.live = Live(seed, self.now)  # what write endpoints change (per simulator)

    # -- families ---------------------------------------------------------------------------------

    @cached_property
    def activity_stores(self) -> dict[str, RowStore]:
        per_day = max(1, self.scale // 2)
        return {
            a.stream: RowStore(self.seed, a.stream, per_day, self.start_day, self.days, a.build)
            for a in activities.ACTIVITIES
        }

    @cached_property
    def accounts(self) -> tuple[iam.Account, ...]:
        return iam.accounts(self.seed, self.now)

    @cached_property
    def api_keys(self) -> list[dict[str, Any]]:
        """The tenant's keys (a per-simulator copy: create / update / delete change it)."""
        return [dict(r) for r in iam.api_keys(self.seed, self.now)]

    @cached_property
    def endpoints(self) -> tuple[dict[str, Any], ...]:
        return endpoints.inventory(self.seed, self.now)

    @cached_property
    def endpoint_index(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """Inventory records by lower-cased agentGuid and by lower-cased endpointName."""
        by_guid = {r["agentGuid"].lower(): r for r in self.endpoints}
        by_name: dict[str, dict[str, Any]] = {}
        for r in self.endpoints:
            by_name.setdefault(r["endpointName"].lower(), r)
        return by_guid, by_name

    # lists that write endpoints change: per-simulator copies of the seeded records
    @cached_property
    def custom_scripts(self) -> list[dict[str, Any]]:
        return [dict(r) for r in response.custom_scripts(self.seed)]

    @cached_property
    def suspicious_objects(self) -> list[dict[str, Any]]:
        return [dict(r) for r in threatintel.lists(self.seed, self.now)[0]]

    @cached_property
    def exception_objects(self) -> list[dict[str, Any]]:
        return [dict(r) for r in threatintel.lists(self.seed, self.now)[1]]

    @cached_property
    def alerts(self) -> DayRecords:
        per_day, now = max(2, self.scale // 20), self.now
        owners = tuple(a.record["id"] for a in self.accounts if a.record["status"] == "enabled")
        return DayRecords(
            self.seed,
            self.start_day,
            self.days,
            lambda seed, day: workbench.apply_edits(
                workbench.make_day(seed, day, per_day, now, owners), self.live.alert_edits
            ),
            workbench.MAX_LAG,
        )

    @cached_property
    def oat(self) -> DayRecords:
        per_day, now = max(2, self.scale // 4), self.now
        return DayRecords(
            self.seed,
            self.start_day,
            self.days,
            lambda seed, day: oat.make_day(seed, day, per_day, now),
            oat.MAX_LAG,
        )

    @cached_property
    def tasks(self) -> DayRecords:
        per_day, now = max(2, self.scale // 50), self.now
        emails = tuple(
            a.email for a in self.accounts if a.record["status"] == "enabled" and a.plan != "never"
        )
        return DayRecords(
            self.seed,
            self.start_day,
            self.days,
            lambda seed, day: response.make_day(seed, day, per_day, now, emails),
            response.MAX_LAG,
        )

    @cached_property
    def audit(self) -> list[dict[str, Any]]:
        return audit.generate(self.seed, self.now, self.accounts, iam.api_keys(self.seed, self.now))

    # -- answering --------------------------------------------------------------------------------

    def _search(self, lang: Language, source: Any) -> Callable[[World, Call], dict[str, Any]]:
        return lambda world, call: search(
            call.path, lang, source, call.params, call.header("TMV1-Query"), call.pager, call.now
        )

    def route(self, path: str) -> Callable[[World, Call], dict[str, Any]] | None:
        if path == DETECTIONS_PATH:
            return self._search(DETECTIONS, self.detections)
        for a in activities.ACTIVITIES:
            if path == a.path:
                return self._search(a.lang, self.activity_stores[a.stream])
        return ROUTES.get(path)

    # -- expectations -----------------------------------------------------------------------------

    def expected(
        self, stream: str, start: When = None, end: When = None, **options: Any
    ) -> list[dict[str, Any]]:
        """The records a tap gets for ``stream`` with default filters and ``start <= key < end``.

        Full-table streams ignore the window. ``options``: ``detected_start`` / ``detected_end`` for
        oat_detections (default: the 365 days before ``end``, or before ``now``).
        """
        if stream not in PATHS:
            raise ValueError(f"unknown stream {stream!r}; streams: {', '.join(PATHS)}")
        lo, hi = _dt(start), _dt(end)
        if stream == "detections":
            return self.detections.records(self.detections.rows(_ms(start), _ms(end)))
        if stream in activities.BY_STREAM:
            return self.activity_stores[stream].records(_ms(start), _ms(end))
        if stream == "workbench_alerts":
            rows = workbench.select(self, lo, hi, "updatedDateTime")
            rows.sort(key=lambda r: (r["updatedDateTime"], r["id"]))
            return rows
        if stream == "oat_detections":
            detected_end = _dt(options.get("detected_end")) or hi or self.now
            detected_start = _dt(options.get("detected_start")) or detected_end - oat.MAX_DETECTED_RANGE
            return oat.select(self, (detected_start, detected_end), (lo, hi))
        if stream == "audit_logs":
            return [r for r in self.audit if in_window(audit.logged_at(r), lo, hi)]
        if stream == "response_tasks":
            return response.select(self, lo, hi, "lastActionDateTime")
        if stream == "iam_accounts":
            return [a.record for a in self.accounts]
        if stream == "api_keys":
            return sorted(self.api_keys, key=lambda r: r["createdDateTime"], reverse=True)
        if stream == "endpoints":
            return list(self.endpoints)
        with self.live.lock:
            return [dict(r) for r in getattr(self, stream)]

    def last_logons(self) -> dict[str, str | None]:
        return audit.last_logons(self.audit, self.accounts)


ROUTES: dict[str, Callable[[World, Call], dict[str, Any]]] = {
    workbench.PATH: workbench.list_alerts,
    oat.PATH: oat.list_oat,
    audit.PATH: audit.list_logs,
    response.TASKS_PATH: response.list_tasks,
    response.SCRIPTS_PATH: response.list_scripts,
    iam.ACCOUNTS_PATH: iam.list_accounts,
    iam.API_KEYS_PATH: iam.list_api_keys,
    threatintel.SUSPICIOUS_PATH: threatintel.list_suspicious,
    threatintel.EXCEPTIONS_PATH: threatintel.list_exceptions,
    endpoints.PATH: endpoints.list_endpoints,
}
