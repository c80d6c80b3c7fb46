"""One output CSV file that only ever changes by being replaced with a complete new version.

Why: a target can be killed at any moment (SIGKILL, OOM, a lost container). The file it writes must
then be either the previous complete file or the new complete file, never one with a torn last row,
and the bookmark the target emitted must not cover rows that are not in the file.

How (one batch = the rows between two drains of the SDK; see `CsvSink`):
- The first row of a batch opens a temporary file next to the real one, `.<name>.tmp-<pid>-<n>`
  (same folder, so the final rename stays on one file system), as a kernel copy of the real file
  (`os.copy_file_range`, falling back to `shutil.copyfile`); rows are appended to it as they arrive,
  so memory stays flat whatever the batch size.
- `commit()` (the batch's drain, before the SDK emits STATE) flushes and fsyncs the temporary file,
  renames it over the real file (`os.replace`, atomic on POSIX) and fsyncs the folder so that the
  rename itself survives a power cut. `discard()` deletes it instead (a failed batch).
- A header that grows (`set_header`, schema drift) is applied by rewriting: the rows of the file,
  or of the open batch, are streamed into a new temporary file under the new header, each row
  re-mapped by column name, so old and new rows line up. Never in place.
- `replace` mode: the first batch of the run starts from an empty file instead of a copy.
- Temporary files that a killed run left behind are deleted when the file is first opened again
  (`remove_stale_temps`), unless the process that wrote them is still alive.

Each drain costs one copy of the file, which is why the sink's batches are large (100,000 rows).
Not thread-safe: each file belongs to one stream, whose sinks the SDK drains one at a time.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import itertools
import os
import shutil
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

LINE_TERMINATOR = "\r\n"
WRITE_BUFFER = 1 << 20
COPY_CHUNK = 1 << 30

_counter = itertools.count(1)


def temp_prefix(path: Path) -> str:
    """Name prefix of this target's temporary files for `path` (`.<name>.tmp-`)."""
    return f".{path.name}.tmp-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete temporary files for `path` left by processes that are gone; return what was deleted."""
    prefix = temp_prefix(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.iterdir():
        if not candidate.name.startswith(prefix):
            continue
        pid_text = candidate.name[len(prefix) :].split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and _pid_alive(int(pid_text)):
            continue
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
            removed.append(candidate)
    return removed


def read_header(path: Path, encoding: str) -> list[str] | None:
    """The first row of the CSV file at `path` (None if there is no file or it is empty)."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    with path.open(encoding=encoding, errors="replace", newline="") as existing:
        return next(csv.reader(existing), None)


def kernel_copy(source: Path, target: Path) -> None:
    """Copy `source` to `target` inside the kernel (a reflink on file systems that share blocks)."""
    with source.open("rb") as src, target.open("wb") as dst:
        try:
            while os.copy_file_range(src.fileno(), dst.fileno(), COPY_CHUNK):
                pass
            return
        except OSError as exc:
            if exc.errno not in {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}:
                raise
    shutil.copyfile(source, target)


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _line_end_bytes(encoding: str) -> tuple[bytes, bytes]:
    """`\\n` and `\\r` in `encoding`, without the byte order mark some codecs put first."""
    lf, cr = "\n".encode(encoding), "\r".encode(encoding)
    boms = (
        codecs.BOM_UTF8,
        codecs.BOM_UTF32_LE,
        codecs.BOM_UTF32_BE,
        codecs.BOM_UTF16_LE,
        codecs.BOM_UTF16_BE,
    )
    for bom in boms:
        if lf.startswith(bom) and len(lf) > len(bom):
            return lf[len(bom) :], cr[len(bom) :]
    return lf, cr


def _ends_with_line_end(path: Path, encoding: str) -> bool:
    lf, cr = _line_end_bytes(encoding)
    with path.open("rb") as raw:
        size = raw.seek(0, os.SEEK_END)
        raw.seek(max(0, size - len(lf)))
        tail = raw.read()
    return size == 0 or tail.endswith((lf, cr))


def remap(rows: Iterable[Sequence[object]], old: Sequence[str], new: Sequence[str]) -> Iterable[list[object]]:
    """`rows` laid out for header `old`, re-laid out for header `new` (by name; new names empty)."""
    where = {name: i for i, name in reversed(list(enumerate(old)))}
    picks = [where.get(name) for name in new]
    for row in rows:
        width = len(row)
        yield [row[i] if i is not None and i < width else "" for i in picks]


class AtomicCsvFile:
    """A CSV file written in batches, each one made visible by an atomic rename (module docstring)."""

    def __init__(self, path: Path, encoding: str, header: list[str] | None, *, replace: bool) -> None:
        """`header`: the existing file's header (None: no file yet, or `replace`)."""
        self.path = path
        self.encoding = encoding
        self.header: list[str] = list(header or [])
        self._disk_header: list[str] | None = None if replace else header
        self._replace_pending = replace
        self._temp: Path | None = None
        self._out: t.TextIO | None = None
        self._writer: t.Any = None  # csv.writer of the open batch
        self._writerow: t.Callable[[t.Iterable[object]], object] | None = None
        self.rows_pending = 0

    # -- writing -------------------------------------------------------------------------------

    def write_row(self, row: Sequence[object], layout: list[str]) -> None:
        """Append one row, laid out for header `layout`, to the open batch (opened if needed)."""
        if self._writerow is None:
            self._begin()
        if layout is not self.header and layout != self.header:
            (row,) = remap([row], layout, self.header)
        self._writerow(row)  # type: ignore[misc]
        self.rows_pending += 1

    def write_rows(self, rows: Sequence[Sequence[object]], layout: list[str]) -> None:
        """Append rows laid out for header `layout` to the open batch."""
        if not rows:
            return
        if self._writerow is None:
            self._begin()
        if layout is not self.header and layout != self.header:
            rows = list(remap(rows, layout, self.header))
        self._writer.writerows(rows)
        self.rows_pending += len(rows)

    def set_header(self, header: list[str]) -> None:
        """Use `header` from now on; rows already in the open batch are rewritten to fit it."""
        if header == self.header:
            return
        old = self.header
        self.header = list(header)
        if self._out is not None:
            self._rewrite_open_batch(old)

    # -- batches -------------------------------------------------------------------------------

    @property
    def needs_writing(self) -> bool:
        """True if the real file is missing, or due to be replaced, even without rows."""
        return self._replace_pending or self._disk_header is None

    def commit(self) -> None:
        """Make the open batch the real file: fsync, rename into place, fsync the folder."""
        out, temp = self._out, self._temp
        if out is None or temp is None:
            return
        try:
            out.flush()
            os.fsync(out.fileno())
            out.close()
            os.replace(temp, self.path)
            fsync_folder(self.path.parent)
        except BaseException:
            self.discard()
            raise
        self._detach()
        self._disk_header = list(self.header)
        self._replace_pending = False
        self.rows_pending = 0

    def finish(self) -> None:
        """End of the stream: commit the open batch; create (or replace) the file if still due."""
        if self._out is None and self.needs_writing:
            self._begin()
        self.commit()

    def replaced(self, header: list[str]) -> None:
        """The real file was replaced whole by another writer (a table version, `versions`).

        Later batches start from that file, whose header is `header`; a pending `replace` is done.
        """
        self.discard()
        self.header = list(header)
        self._disk_header = list(header)
        self._replace_pending = False

    def discard(self) -> None:
        """Drop the open batch; the real file stays as it was."""
        out, temp = self._detach()
        self.rows_pending = 0
        if out is not None:
            with contextlib.suppress(OSError):
                out.close()
        if temp is not None:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    # -- internals -----------------------------------------------------------------------------

    def _new_temp(self) -> Path:
        return self.path.with_name(f"{temp_prefix(self.path)}{os.getpid()}-{next(_counter)}")

    def _open(self, path: Path, mode: str, errors: str = "backslashreplace") -> t.TextIO:
        return path.open(mode, encoding=self.encoding, errors=errors, newline="", buffering=WRITE_BUFFER)

    def _begin(self) -> None:
        """Open a batch: a temporary copy of the file (or a fresh file) to append rows to."""
        temp = self._new_temp()
        try:
            if self.needs_writing:
                with self._open(temp, "w") as out:
                    csv.writer(out, lineterminator=LINE_TERMINATOR).writerow(self.header)
            elif self._disk_header == self.header:
                kernel_copy(self.path, temp)
                if not _ends_with_line_end(temp, self.encoding):
                    with self._open(temp, "a") as out:
                        out.write(LINE_TERMINATOR)
            else:
                self._write_rewritten(self.path, self._disk_header, temp)
            self._attach(temp)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise

    def _write_rewritten(self, source: Path, source_header: Sequence[str], temp: Path) -> None:
        """Write `source`'s rows under `self.header` into `temp`, one row at a time."""
        with (
            source.open(encoding=self.encoding, errors="surrogateescape", newline="") as old,
            self._open(temp, "w", errors="surrogateescape") as out,
        ):
            rows = csv.reader(old)
            next(rows, None)  # the old header
            writer = csv.writer(out, lineterminator=LINE_TERMINATOR)
            writer.writerow(self.header)
            writer.writerows(remap(rows, source_header, self.header))

    def _rewrite_open_batch(self, old_header: list[str]) -> None:
        out, temp = self._detach()
        assert out is not None and temp is not None
        out.close()
        try:
            replacement = self._new_temp()
            try:
                self._write_rewritten(temp, old_header, replacement)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    replacement.unlink()
                raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        self._attach(replacement)

    def _attach(self, temp: Path) -> None:
        """Make `temp` the open batch: rows are appended to it from now on."""
        self._out = self._open(temp, "a")
        self._temp = temp
        self._writer = csv.writer(self._out, lineterminator=LINE_TERMINATOR)
        self._writerow = self._writer.writerow

    def _detach(self) -> tuple[t.TextIO | None, Path | None]:
        """Forget the open batch (the caller closes or commits it); return its file and path."""
        out, temp = self._out, self._temp
        self._out = self._temp = self._writer = self._writerow = None
        return out, temp
