"""One output CSV file, written in batches that each become visible whole, at linear I/O cost.

Why: a target can be killed at any moment (SIGKILL, OOM, a lost container). The next run must then
find the file as it was after the last committed batch, never a torn last row or part of a batch,
and the bookmark the target emitted must not cover rows that are not durably in the file. Copying
the whole file for each batch (the earlier design) makes I/O grow with the square of the file.

How (one batch = the rows between two drains of the SDK; see `CsvSink`):
- Ordinary batches are appended to the real file, through a 1 MiB buffer. `commit()` (the batch's
  drain, before the SDK emits STATE) flushes and fsyncs the file, then records its new length as
  the committed length in a small sidecar file, `.<name>.committed` (JSON: length and inode),
  written to a temporary file, fsynced, renamed into place and the folder fsynced. Only then does
  commit return, so STATE never covers bytes that are not durable.
- Before the first byte of a run is appended, the sidecar holds the file's current length. The
  next open of the file (`recover`, when a run starts, and again before appending) truncates the
  file back to the committed length: the rows of a batch that a kill interrupted are removed before
  anyone appends. A file without a valid sidecar (written by an older version, by another tool, or
  left by a clean run, which deletes its sidecar at the end) is taken as committed as it is; if it
  does not end with a line end, one is added before new rows. The sidecar names the file's inode, so
  a sidecar left beside a file that was since replaced whole is ignored.
- `discard()` (a failing run) truncates the file back to the committed length at once.
- The file is replaced whole (a temporary file `.<name>.tmp-<pid>-<n>` in the same folder, fsynced,
  renamed over it with `os.replace`, folder fsynced, sidecar removed) only where its content
  changes as a whole, which is rare: a new file, `replace` mode's first batch of a run, a header
  that grows (`set_header`, schema drift: the rows are streamed into the new file under the new
  header, each re-mapped by column name), and Singer table versions (`versions`).
- Temporary files that a killed run left behind (batch files and sidecar temporaries share the
  prefix) are deleted when the file is first opened again (`remove_stale_temps`), unless the
  process that wrote them is still alive.

What a reader sees: after a run, or after a kill once the next run has started, only whole
committed batches. While a batch is being written, or after a kill before the next run opens the
file, the file may end with an uncommitted tail (whole rows, or a torn last row); analysts should
open the files after the run. Bytes written to disk are about the file's size, plus one small
sidecar per batch (and one full copy for each of the rare whole-file replacements above).
Not thread-safe: each file belongs to one stream, whose sinks the SDK drains one at a time.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import itertools
import json
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


def mark_path(path: Path) -> Path:
    """The sidecar that records how much of `path` is committed (`.<name>.committed`)."""
    return path.with_name(f".{path.name}.committed")


def read_mark(path: Path) -> tuple[int, int] | None:
    """(committed length, inode) from `path`'s sidecar; None if there is none or it is unreadable."""
    try:
        data = json.loads(mark_path(path).read_text(encoding="utf-8"))
        return int(data["length"]), int(data["inode"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_mark(path: Path, length: int, inode: int) -> None:
    """Record durably that the first `length` bytes of `path` (inode `inode`) are committed."""
    temp = path.with_name(f"{temp_prefix(path)}{os.getpid()}-{next(_counter)}")
    try:
        with temp.open("w", encoding="utf-8") as out:
            out.write(json.dumps({"length": length, "inode": inode}))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, mark_path(path))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_folder(path.parent)


def drop_mark(path: Path) -> bool:
    """Delete `path`'s sidecar: the file is whole as it is. True if there was one."""
    try:
        mark_path(path).unlink()
    except FileNotFoundError:
        return False
    return True


def committed_length(path: Path) -> int:
    """How many bytes at the start of `path` are committed: its sidecar's length, else all of them."""
    st = path.stat()
    mark = read_mark(path)
    if mark is not None:
        length, inode = mark
        if inode == st.st_ino and length <= st.st_size:
            return length
    return st.st_size


def recover(path: Path) -> int:
    """Cut the uncommitted tail that a killed run left at the end of `path`; return its size in bytes."""
    if not path.is_file():
        return 0
    size = path.stat().st_size
    length = committed_length(path)
    if length >= size:
        return 0
    with path.open("r+b") as raw:
        raw.truncate(length)
        os.fsync(raw.fileno())
    return size - length


def remap(rows: Iterable[Sequence[object]], old: Sequence[str], new: Sequence[str]) -> Iterable[list[object]]:
    """`rows` laid out for header `old`, re-laid out for header `new` (by name; new names empty)."""
    where = {name: i for i, name in reversed(list(enumerate(old)))}
    picks = [where.get(name) for name in new]
    for row in rows:
        width = len(row)
        yield [row[i] if i is not None and i < width else "" for i in picks]


class AtomicCsvFile:
    """A CSV file written in batches, each appended and committed, or replacing the file whole.

    See the module docstring.
    """

    def __init__(self, path: Path, encoding: str, header: list[str] | None, *, replace: bool) -> None:
        """`header`: the existing file's header (None: no file yet, or `replace`)."""
        self.path = path
        self.encoding = encoding
        self.header: list[str] = list(header or [])
        self._disk_header: list[str] | None = None if replace else header
        self._replace_pending = replace
        self._temp: Path | None = None  # the open batch's temporary file (None: appending in place)
        self._out: t.TextIO | None = None
        self._writer: t.Any = None  # csv.writer of the open batch
        self._writerow: t.Callable[[t.Iterable[object]], object] | None = None
        self._committed: int | None = None  # committed length, recorded in the sidecar by this run
        self._inode = 0
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

    def write_text(self, text: str, rows: int) -> None:
        """Append `rows` rows already written as CSV text (laid out for `self.header`) to the open batch."""
        if not rows:
            return
        if self._out is None:
            self._begin()
        self._out.write(text)  # type: ignore[union-attr]
        self.rows_pending += rows

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
        """Make the open batch part of the real file, durably (module docstring)."""
        out, temp = self._out, self._temp
        if out is None:
            return
        try:
            out.flush()
            os.fsync(out.fileno())
            if temp is None:  # appended in place: record the new committed length
                length = os.fstat(out.fileno()).st_size
                out.close()
                write_mark(self.path, length, self._inode)
            else:
                out.close()
                os.replace(temp, self.path)
                drop_mark(self.path)  # the new file is whole; a sidecar would name the old inode
                fsync_folder(self.path.parent)
                length = None
        except BaseException:
            self.discard()
            raise
        self._detach()
        self._committed = length
        self._disk_header = list(self.header)
        self._replace_pending = False
        self.rows_pending = 0

    def finish(self, *, create: bool = True) -> None:
        """End of the stream: commit the open batch; create (or replace) the file if still due.

        The file is then whole as it is, so its sidecar is deleted. `create` false: never create
        or replace the file without rows (a stream of table versions).
        """
        if self._out is None and create and self.needs_writing:
            self._begin()
        self.commit()
        self._settle()

    def replaced(self, header: list[str]) -> None:
        """The real file was replaced whole by another writer (a table version, `versions`).

        Later batches start from that file, whose header is `header`; a pending `replace` is done.
        """
        self.discard()
        self.header = list(header)
        self._disk_header = list(header)
        self._replace_pending = False
        self._committed = None  # that writer deleted the sidecar: the next append records one

    def discard(self) -> None:
        """Drop the open batch; the real file is cut back to its committed length."""
        out, temp = self._detach()
        self.rows_pending = 0
        if out is not None:
            with contextlib.suppress(OSError):
                out.close()
        if temp is not None:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        elif out is not None and self._committed is not None:
            try:
                with self.path.open("r+b") as raw:
                    raw.truncate(self._committed)
                    os.fsync(raw.fileno())
            except OSError:
                return  # the sidecar stays: the next open cuts the tail
        with contextlib.suppress(OSError):
            self._settle()

    # -- internals -----------------------------------------------------------------------------

    def _new_temp(self) -> Path:
        return self.path.with_name(f"{temp_prefix(self.path)}{os.getpid()}-{next(_counter)}")

    def _open(self, path: Path, mode: str, errors: str = "backslashreplace") -> t.TextIO:
        return path.open(mode, encoding=self.encoding, errors=errors, newline="", buffering=WRITE_BUFFER)

    def _settle(self) -> None:
        """The real file holds only committed bytes: delete the sidecar this run wrote."""
        if self._committed is not None:
            drop_mark(self.path)
            fsync_folder(self.path.parent)
            self._committed = None

    def _mark_committed(self) -> None:
        """Before appending: cut an uncommitted tail, end the file on a line end, record its length."""
        if self._committed is not None:
            return
        recover(self.path)
        if not _ends_with_line_end(self.path, self.encoding):
            with self._open(self.path, "a") as out:
                out.write(LINE_TERMINATOR)
                out.flush()
                os.fsync(out.fileno())
        st = self.path.stat()
        write_mark(self.path, st.st_size, st.st_ino)
        self._committed, self._inode = st.st_size, st.st_ino

    def _begin(self) -> None:
        """Open a batch: rows are appended to the real file, or to a new temporary file."""
        if not self.needs_writing:
            self._mark_committed()
            if self._disk_header == self.header:
                self._attach(None)
                return
        temp = self._new_temp()
        try:
            if self.needs_writing:
                with self._open(temp, "w") as out:
                    csv.writer(out, lineterminator=LINE_TERMINATOR).writerow(self.header)
            else:
                self._write_rewritten(self.path, self._disk_header, temp)  # type: ignore[arg-type]
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
        """The header grew mid-batch: the file and the open batch go into a new temporary file."""
        out, temp = self._detach()
        assert out is not None
        try:
            out.close()
            replacement = self._new_temp()
            try:
                self._write_rewritten(self.path if temp is None else temp, old_header, replacement)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    replacement.unlink()
                raise
        finally:
            if temp is not None:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
            elif self._committed is not None:  # the batch's rows now live in the replacement
                os.truncate(self.path, self._committed)
        self._attach(replacement)

    def _attach(self, temp: Path | None) -> None:
        """Make `temp` (None: the real file, appended to) the open batch."""
        self._out = self._open(self.path if temp is None else temp, "a")
        self._temp = temp
        self._writer = csv.writer(self._out, lineterminator=LINE_TERMINATOR)
        self._writerow = self._writer.writerow

    def _detach(self) -> tuple[t.TextIO | None, Path | None]:
        """Forget the open batch (the caller closes or commits it); return its file and path."""
        out, temp = self._out, self._temp
        self._out = self._temp = self._writer = self._writerow = None
        return out, temp
