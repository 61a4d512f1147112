"""What the commands show while they run and how they lay out tables: progress, heartbeats,
sizes and aligned columns."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from s3redshift.backfill import BackfillProgress

__all__ = ["ListingHeartbeat", "ProgressPrinter", "Ticker", "columns", "format_bytes"]


def _size(count: int, unit: tuple[int, str]) -> str:
    return f"{count}" if unit[0] == 1 else f"{count / unit[0]:.1f}"


def _unit(total: int) -> tuple[int, str]:
    for scale, name in ((10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "kB")):
        if total >= scale:
            return scale, name
    return 1, "B"


def format_bytes(count: int) -> str:
    """``1234567`` → ``1.2 MB`` (decimal units, as S3 and the console use)."""
    unit = _unit(count)
    return f"{_size(count, unit)} {unit[1]}"


class Ticker:
    """Calls ``beat`` every ``interval`` seconds on a daemon thread until stopped.

    The heartbeat of long work: the main thread is inside one call (a batch's
    load, a listing) and cannot report, so this thread does, from what the
    main thread last recorded.
    """

    def __init__(self, interval: float, beat: Callable[[], None]) -> None:
        self._interval = interval
        self._beat = beat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="s3redshift-progress", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._beat()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class ProgressPrinter:
    """Shows backfill progress on stderr without spoiling logs.

    On a terminal it redraws one bar in place; otherwise (a log file, CI) it
    writes a plain line at the start, at most every ``interval`` seconds in
    between, and at the end. While a batch runs, a heartbeat every
    ``interval`` seconds adds the batch's time so far, the whole run's, and an
    estimate of what is left (from the time per object of the batches done).
    """

    WIDTH = 30

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = 5.0,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        heartbeat: bool = True,
    ) -> None:
        self._stream = stream
        self._heartbeat_on = heartbeat
        self._tty = stream.isatty() if tty is None else tty
        self._interval = interval
        self._clock = clock
        self._last: float | None = None
        self._drawn = False
        self._lock = threading.Lock()
        self._latest: BackfillProgress | None = None
        self._latest_at = 0.0
        self._started_at: float | None = None
        self._ticker = Ticker(interval, self._heartbeat)

    def line(self, p: BackfillProgress) -> str:
        unit = _unit(p.bytes_total)
        filled = (
            self.WIDTH if p.objects_total == 0 else self.WIDTH * p.objects_done // p.objects_total
        )
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        return (
            f"[{bar}] {p.objects_done}/{p.objects_total} objects, "
            f"{_size(p.bytes_done, unit)}/{_size(p.bytes_total, unit)} {unit[1]}"
        )

    def running(self, p: BackfillProgress, now: float) -> str:
        """``; batch 2/3 for 12 s, 40 s in all, about 25 s left`` (no estimate before one batch)."""
        assert self._started_at is not None
        in_batch = now - self._latest_at
        text = (
            f"; batch {p.batches_done + 1}/{p.batches_total} for {in_batch:.0f} s, "
            f"{now - self._started_at:.0f} s in all"
        )
        if not p.objects_done:
            return text + ", no estimate before the first batch ends"
        per_object = (self._latest_at - self._started_at) / p.objects_done
        left = max(per_object * (p.objects_total - p.objects_done) - in_batch, 0.0)
        return text + f", about {left:.0f} s left"

    def __call__(self, p: BackfillProgress) -> None:
        now = self._clock()
        with self._lock:
            self._latest, self._latest_at = p, now
            if self._started_at is None:
                self._started_at = now
            due = self._last is None or now - self._last >= self._interval
            self._show(self.line(p), final=p.finished, due=due or p.finished)
        if p.finished:
            self._ticker.stop()
        elif self._heartbeat_on:
            self._ticker.start()

    def _heartbeat(self) -> None:
        with self._lock:
            p = self._latest
            if p is None or p.finished:
                return
            self._show(self.line(p) + self.running(p, self._clock()), final=False, due=True)

    def _show(self, text: str, *, final: bool, due: bool) -> None:
        if self._tty:
            self._stream.write("\r" + text + "\x1b[K")  # erase what a longer line left
            self._drawn = True
            if final:
                self._stream.write("\n")
                self._drawn = False
        elif due:
            self._stream.write(text + "\n")
            self._last = self._clock()
        self._stream.flush()

    def close(self) -> None:
        """Stop the heartbeat and end a bar left open (a run that stopped early)."""
        self._ticker.stop()
        with self._lock:
            if self._drawn:
                self._stream.write("\n")
                self._drawn = False


class ListingHeartbeat:
    """``s3redshift: <what>: N object(s) listed, T s`` every ``interval`` seconds while it runs."""

    def __init__(
        self,
        stream: TextIO,
        what: str,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._what = what
        self._clock = clock
        self._started = clock()
        self.listed = 0
        self._ticker = Ticker(interval, self._beat)

    def count(self, listed: int) -> None:
        self.listed = listed

    def _beat(self) -> None:
        elapsed = self._clock() - self._started
        self._stream.write(
            f"s3redshift: {self._what}: {self.listed} object(s) listed, {elapsed:.0f} s\n"
        )
        self._stream.flush()

    def __enter__(self) -> ListingHeartbeat:
        self._ticker.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._ticker.stop()


def columns(
    rows: Sequence[tuple[str, ...]], out: TextIO, notes: Sequence[str] | None = None
) -> None:
    """Align all columns but the last (an S3 URI may hold spaces).

    ``notes[i]``, when given, is written on its own indented line after row
    ``i + 1`` (the first row is the header).
    """
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]) + "\n")
        if notes is not None and index > 0:
            out.write(f"    {notes[index - 1]}\n")
