"""The shell blocks of a Markdown file, as `test_readme_commands.py` runs them.

A block is a fenced code block whose language is a shell (``bash``, ``sh``, ``shell``) or ``crontab``.
An HTML comment right before its fence (blank lines allowed in between) may mark it as not runnable in a
test, with the reason shown to readers of the source::

    <!-- readme-test: skip (needs a PostgreSQL server) -->
    ```bash
    .venv/bin/meltano run tap-visionone target-postgres
    ```

Every other shell block must run as printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "crontab"})
_FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<language>[\w+-]*)\s*$")
_MARKER = re.compile(r"^<!--\s*readme-test:\s*(?P<body>.*?)\s*-->\s*$")
_SKIP = re.compile(r"^skip\s*\((?P<reason>.+)\)$")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")


class MarkerError(ValueError):
    """A `readme-test` comment that is malformed or not right before a shell block."""


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    section: str  # the nearest heading above the block
    language: str
    text: str
    skip: str | None  # the reason of a `readme-test: skip (...)` marker, or None: the block must run

    def __str__(self) -> str:
        return f"line {self.line} ({self.section})"


def shell_blocks(markdown: str) -> list[Block]:
    """The shell blocks of `markdown` in document order, each with its skip marker, if any."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    section, pending, index = "", None, 0  # pending: (line, reason) of a marker awaiting its fence
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            closing = fence["fence"]
            end = next((i for i in range(index + 1, len(lines)) if lines[i].strip() == closing), None)
            if end is None:
                raise MarkerError(f"line {index + 1}: code fence never closed")
            language = fence["language"].lower()
            if language in SHELL_LANGUAGES:
                text = "\n".join(lines[index + 1 : end]) + "\n"
                blocks.append(Block(index + 1, section, language, text, pending[1] if pending else None))
            elif pending:
                kind = language or "plain"
                raise MarkerError(f"line {pending[0]}: readme-test marker before a {kind} block")
            pending, index = None, end + 1
            continue
        marker = _MARKER.match(line.strip())
        if marker:
            skip = _SKIP.match(marker["body"])
            if not skip or not skip["reason"].strip():
                raise MarkerError(f"line {index + 1}: expected `<!-- readme-test: skip (reason) -->`")
            if pending:
                raise MarkerError(f"line {pending[0]}: readme-test marker not followed by a shell block")
            pending = (index + 1, skip["reason"].strip())
        elif line.strip():
            if pending:
                raise MarkerError(f"line {pending[0]}: readme-test marker not right before a shell block")
            heading = _HEADING.match(line)
            if heading:
                section = heading["title"]
        index += 1
    if pending:
        raise MarkerError(f"line {pending[0]}: readme-test marker not followed by a shell block")
    return blocks
