"""One stream's output: rows appended in batches, or whole Singer table versions that replace the file.

Why: a full-table stream sends the whole table every run. Appended, the file would hold one more
copy per run; Singer's `ACTIVATE_VERSION` says "the table is now exactly the rows of version v".

How (a version replaces the real file whole, never in place):
- RECORDs without a ``version`` are appended in batches, as before (`AtomicCsvFile`).
- RECORDs with a ``version`` go to a staging file beside the CSV (the same temporary file an
  `AtomicCsvFile` batch uses, `.<name>.tmp-<pid>-<n>`), which starts from the file's header alone.
- ``ACTIVATE_VERSION v`` after v's rows (taps that activate a complete read, the Stitch convention):
  the staging file is fsynced and renamed over the CSV. Rows of v that arrive later are appended.
- ``ACTIVATE_VERSION v`` before v's rows (the Singer SDK's default): v is announced; its rows are
  staged and the CSV is replaced at the end of the input (or when a newer version starts). An
  announced version without rows leaves a header-only file: the table is empty.
- A staged version that was never activated (the tap stopped mid-read) is dropped at the end of
  the input with a warning, and the CSV keeps the previous copy. A killed target leaves its staging
  file behind; the next run deletes it (`remove_stale_temps`).
"""

from __future__ import annotations

import logging
import typing as t

from target_csv_flat.atomic_csv import AtomicCsvFile

if t.TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

logger = logging.getLogger(__name__)


class StreamFile:
    """The CSV file of one stream: its appended batches and its table versions (module docstring).

    Not thread-safe, like `AtomicCsvFile`: the SDK drains a stream's sinks one at a time.
    """

    def __init__(
        self,
        path: Path,
        encoding: str,
        header: list[str] | None,
        *,
        replace: bool,
        log: logging.Logger | None = None,
    ) -> None:
        """`header`: the existing file's header (None: no file yet, or `replace`)."""
        self.path = path
        self.encoding = encoding
        self.appending = AtomicCsvFile(path, encoding, header, replace=replace)
        self.logger = log or logger
        self.staging: AtomicCsvFile | None = None
        self.staging_version: int | None = None
        self.staged_rows = 0
        self.announced: int | None = None  # ACTIVATE_VERSION seen before its rows
        self.active: int | None = None  # the version the file holds (activated in this run)
        self.versioned = False  # the input has versions for this file

    # -- what the sink uses, as for an AtomicCsvFile ----------------------------------------------

    @property
    def header(self) -> list[str]:
        """The header rows are laid out for (the appended batches' and the staged version's)."""
        return self.appending.header

    @property
    def rows_pending(self) -> int:
        """Rows appended since the last commit (staged rows are counted by `staged_rows`)."""
        return self.appending.rows_pending

    def set_header(self, header: list[str]) -> None:
        """Use `header` from now on, for appended batches and the staged version alike."""
        self.appending.set_header(header)
        if self.staging is not None:
            self.staging.set_header(header)

    def write_row(self, row: Sequence[object], layout: list[str], version: int | None = None) -> None:
        """Append a row to the open batch, or to version `version`'s staging file."""
        self._output_for(version).write_row(row, layout)
        if version is not None and version != self.active:
            self.staged_rows += 1

    def write_rows(
        self, rows: Sequence[Sequence[object]], layout: list[str], version: int | None = None
    ) -> None:
        """Append rows to the open batch, or to version `version`'s staging file."""
        self._output_for(version).write_rows(rows, layout)
        if version is not None and version != self.active:
            self.staged_rows += len(rows)

    def write_text(self, text: str, rows: int, version: int | None = None) -> None:
        """Append `rows` rows already written as CSV text for `header` to the batch or the staging file."""
        self._output_for(version).write_text(text, rows)
        if version is not None and version != self.active:
            self.staged_rows += rows

    def commit(self) -> None:
        """A drain: the open batch goes into the file; a staged version waits for its activation."""
        self.appending.commit()

    def discard(self) -> None:
        """The run is failing: drop the open batch and any staged version; the file stays as it was."""
        self.appending.discard()
        self._drop_staging()

    # -- table versions ----------------------------------------------------------------------------

    def activate(self, version: int) -> None:
        """`ACTIVATE_VERSION version`: the file becomes exactly that version's rows."""
        self.versioned = True
        if version == self.active:
            return
        if self.staging_version == version:
            self._commit_staging()
            return
        # Announced before its rows (or a version without any): staged from now on, committed at
        # the end of the input. A version staged before it is finished or abandoned first.
        self._close_staging(f"version {version} was activated instead")
        self.announced = version
        self._start_staging(version)

    def finish(self, *, end_of_input: bool = True) -> None:
        """End of the stream: commit the open batch; settle a staged version; create the file if due.

        A version announced before its rows is committed only at the real end of the input, not
        when a signal stops the target mid-input (`end_of_input` false): its rows may be incomplete.
        """
        if self.staging is not None:
            if end_of_input:
                self._close_staging("the input ended before its ACTIVATE_VERSION")
            else:
                self.announced = None
                self._close_staging("the target was stopped")
        # A stream of versions never replaces the file with nothing.
        self.appending.finish(create=not self.versioned)

    # -- internals ---------------------------------------------------------------------------------

    def _output_for(self, version: int | None) -> AtomicCsvFile:
        if version is None or version == self.active:
            return self.appending
        if version != self.staging_version:
            self._close_staging(f"rows of version {version} started")
            self._start_staging(version)
        assert self.staging is not None
        return self.staging

    def _start_staging(self, version: int) -> None:
        self.versioned = True
        staging = AtomicCsvFile(self.path, self.encoding, None, replace=True)
        staging.set_header(self.appending.header)
        self.staging, self.staging_version, self.staged_rows = staging, version, 0

    def _close_staging(self, why: str) -> None:
        """Settle the staged version: commit it if it was announced (complete), else drop it."""
        if self.staging is None:
            return
        if self.staging_version == self.announced:
            self._commit_staging()
            return
        self.logger.warning(
            "%s: table version %s was never activated (%s): its %d rows are dropped and the file "
            "keeps its previous rows",
            self.path,
            self.staging_version,
            why,
            self.staged_rows,
        )
        self._drop_staging()

    def _commit_staging(self) -> None:
        """Replace the file with the staged version: fsync, atomic rename, fsync the folder."""
        staging = self.staging
        assert staging is not None
        self.appending.commit()  # rows without a version first; the version then replaces them too
        staging.finish()
        self.appending.replaced(staging.header)
        self.logger.info(
            "%s now holds table version %s (%d rows)", self.path, self.staging_version, self.staged_rows
        )
        self.active, self.announced = self.staging_version, None
        self.staging, self.staging_version, self.staged_rows = None, None, 0

    def _drop_staging(self) -> None:
        if self.staging is not None:
            self.staging.discard()
        self.staging, self.staging_version, self.staged_rows = None, None, 0
        self.announced = None
