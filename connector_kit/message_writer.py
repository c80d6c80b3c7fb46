"""Singer messages out through the SDK's msgspec writer, buffered until a message that must be seen now.

The SDK's `MsgSpecWriter` encodes a message several times faster than the standard JSON writer, but
flushes stdout after every message: one system call per RECORD. Records are only worth anything to a
target once the STATE that covers them arrives, so RECORDs stay in stdout's buffer and every other
message (SCHEMA, STATE, ACTIVATE_VERSION, BATCH) flushes it, records first. A killed tap loses only
records no STATE had covered yet, which the next run fetches again.
"""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage

if t.TYPE_CHECKING:
    from singer_sdk.singerlib import Message


class BufferedMsgSpecWriter(MsgSpecWriter):
    """`MsgSpecWriter` that flushes stdout only after a message other than RECORD."""

    def write_message(self, message: Message) -> None:
        line = self.format_message(message)
        binary = getattr(sys.stdout, "buffer", None)
        if binary is not None:
            binary.write(line)
        else:  # a text-only stdout (one a caller redirected): same line, decoded
            sys.stdout.write(line.decode())
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()
