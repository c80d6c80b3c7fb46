"""Request bodies: parsed for the write endpoints, and summarised for ``Simulator.requests``.

JSON (by Content-Type, or any body that parses as JSON) becomes the parsed value; ``multipart/form-data``
becomes ``{field: text or Part}``; anything else is text. An unparseable JSON body is :data:`INVALID`.
The recorded form never holds file bytes (a part is summarised as filename, content type and size) nor
secrets (password fields are ``"REDACTED"``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any

REDACTED = "REDACTED"
SECRET_FIELDS = frozenset({"documentPassword", "archivePassword", "password", "apiKey", "token"})


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


@dataclass(frozen=True)
class Part:
    """One file part of a multipart body."""

    filename: str | None
    content_type: str
    data: bytes

    def summary(self) -> dict[str, Any]:
        return {"filename": self.filename, "contentType": self.content_type, "bytes": len(self.data)}


def parse(content_type: str | None, raw: bytes) -> Any:
    """The body as an endpoint sees it (None when empty)."""
    if not raw:
        return None
    ctype = (content_type or "").lower()
    if ctype.startswith("multipart/form-data"):
        return _multipart(content_type or "", raw)
    text = raw.decode("utf-8", errors="replace")
    if "json" in ctype or text.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(raw)
        except ValueError:
            return INVALID if "json" in ctype else text
    return text


def _multipart(content_type: str, raw: bytes) -> Any:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    try:
        message = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
        if not message.is_multipart():
            return INVALID
        form: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            data = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is None:
                form[str(name)] = data.decode("utf-8", errors="replace")
            else:
                form[str(name)] = Part(str(filename), part.get_content_type(), data)
        return form
    except Exception:  # a malformed body is the client's problem: answer 400, do not crash
        return INVALID


def summary(body: Any) -> Any:
    """What ``Simulator.requests`` records: parsed JSON, a multipart summary, text, or None."""
    if body is INVALID:
        return {"invalid": True}
    if isinstance(body, dict):
        return {k: _redact(k, v) for k, v in body.items()}
    if isinstance(body, list):
        return [summary(v) if isinstance(v, dict) else v for v in body]
    return body


def _redact(name: str, value: Any) -> Any:
    if isinstance(value, Part):
        return value.summary()
    if name in SECRET_FIELDS and isinstance(value, str):
        return REDACTED
    if isinstance(value, dict):
        return {k: _redact(k, v) for k, v in value.items()}
    return value
