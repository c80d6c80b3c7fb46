"""Singer messages out through the SDK's msgspec writer, buffered until a message that must be seen now.

The SDK's `MsgSpecWriter` encodes a message several times faster than the standard JSON writer, but
flushes stdout after every message: one system call per RECORD. Records are only worth anything to a
target once the STATE that covers them arrives, so RECORDs are gathered here and every other message
(SCHEMA, STATE, ACTIVATE_VERSION, BATCH) writes them out and flushes, records first. A killed tap loses
only records no STATE had covered yet, which the next run fetches again.

The records are held in a buffer of our own, not in stdout's: with ``PYTHONUNBUFFERED`` (or ``-u``)
stdout has no buffer and every RECORD was a ``write`` system call of its own.
"""

from __future__ import annotations

import atexit
import sys
import typing as t
import weakref

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage

if t.TYPE_CHECKING:
    from singer_sdk.singerlib import Message

FLUSH_AT = 1 << 18  # bytes of RECORD lines written at once: few system calls, little held back
_WRITERS: weakref.WeakSet[BufferedMsgSpecWriter] = weakref.WeakSet()


class BufferedMsgSpecWriter(MsgSpecWriter):
    """`MsgSpecWriter` that writes RECORDs in chunks and flushes stdout only after another message."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = bytearray()
        _WRITERS.add(self)

    def write_message(self, message: Message) -> None:
        line = self.format_message(message)  # the SDK reuses this buffer: copied below
        binary = getattr(sys.stdout, "buffer", None)
        if binary is None:  # a text-only stdout (one a caller redirected): same line, decoded
            self.write_pending()
            sys.stdout.write(line.decode())
        elif isinstance(message, RecordMessage):
            self._pending += line
            if len(self._pending) >= FLUSH_AT:
                self.write_pending()
            return
        else:
            self._pending += line
            self.write_pending()
        sys.stdout.flush()

    def write_pending(self) -> None:
        """Write the RECORD lines held so far (to stdout's buffer, not flushed)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, bytearray()
        binary = getattr(sys.stdout, "buffer", None)
        if binary is not None:
            binary.write(pending)
        else:
            sys.stdout.write(pending.decode())


@atexit.register
def _write_all_pending() -> None:
    """At a normal exit, records held back still go out, as they did when stdout's buffer held them."""
    for writer in list(_WRITERS):
        try:
            writer.write_pending()
            sys.stdout.flush()
        except (OSError, ValueError):  # stdout closed or gone: nothing can be written anyway
            pass
