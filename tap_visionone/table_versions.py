"""Singer table versions for full-table streams: the one place that touches the SDK's private members.

Why: a full-table stream re-reads the whole list every run, so a target that only appends would
hold one more copy per run. Singer's answer is ``ACTIVATE_VERSION``: the run's RECORDs carry a
``version``, and ``ACTIVATE_VERSION <version>`` tells the target that this version is now the
table (older rows go). The SDK only sends it *before* the records (``emit_activate_version_messages``),
which makes a target such as target-postgres drop the old rows before the new ones have arrived; a
run that then fails leaves an empty table. We send it *after* the last record of a complete read
(the Stitch convention for full-table syncs), and not at all when the read fails.

The SDK has no public hook for either step, so this module sets ``Stream._stream_version`` (read by
``Stream._generate_record_messages`` for each RECORD's ``version``) and calls
``Stream._write_activate_version_message`` (which writes one message per stream-map alias).
`tests/test_full_table_versions.py` checks both on the pinned SDK.
"""

from __future__ import annotations

import time
import typing as t

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream


def begin_version(stream: Stream) -> int:
    """Tag the stream's RECORD messages from now on with a new table version, and return it.

    The version is the time in epoch milliseconds (Singer's convention: later runs, higher
    versions). If the SDK's own ``emit_activate_version_messages`` is on, the SDK has already
    announced a version for this sync; that one is kept, so the records match it.
    """
    if stream.emit_activate_version_messages and stream._stream_version is not None:
        return stream._stream_version
    version = time.time_ns() // 1_000_000
    stream._stream_version = version
    return version


def activate_version(stream: Stream, version: int) -> None:
    """Write ``ACTIVATE_VERSION`` for `version`: every record of it has been written."""
    stream._write_activate_version_message(version)
