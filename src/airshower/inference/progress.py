"""Progress of a long loop for a log file: durations in words, and a line about every 10 %.

On a terminal the stages draw a tqdm bar; in a log file (a Snakemake job's, where stderr is
not a terminal) a bar is a stream of carriage returns, so :class:`ProgressLines` writes one
line at each tenth instead: how far, how fast and how long still (ETA from the mean rate so
far). Training logs its epochs with :func:`format_duration` too. Standard library only.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_duration(seconds: float) -> str:
    """A time span for a log: ``42 s``, ``3 min 05 s``, ``2 h 07 min``."""
    total = max(int(round(seconds)), 0)
    if total < 60:
        return f"{total} s"
    minutes, sec = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressLines:
    """``update(n)`` as a tqdm bar takes it; a line on ``stream`` (default stderr) each time another
    ``step`` (a fraction) of ``total`` is done, and at the end:

        reconstructing: 2048/10000 events (20 %), 3512 events/s, ETA 2 s
    """

    def __init__(self, total: int, desc: str, unit: str = "events", step: float = 0.1,
                 stream: TextIO | None = None) -> None:
        self.total, self.desc, self.unit, self.step = int(total), desc, unit, float(step)
        self.stream = stream
        self.done = 0
        self.next_fraction = self.step
        self.start = time.perf_counter()

    def update(self, n: int) -> None:
        self.done += int(n)
        fraction = self.done / self.total if self.total > 0 else 1.0
        if fraction + 1e-12 < self.next_fraction and self.done < self.total:
            return
        while self.next_fraction <= fraction + 1e-12:
            self.next_fraction += self.step
        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed > 0 else float("inf")
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        stream = self.stream if self.stream is not None else sys.stderr
        print(f"{self.desc}: {self.done}/{self.total} {self.unit} ({100 * fraction:.0f} %), "
              f"{rate:.0f} {self.unit}/s, " + (f"ETA {format_duration(left)}" if self.done < self.total else
                                              f"done in {format_duration(elapsed)}"),
              file=stream, flush=True)

    def close(self) -> None:
        """Nothing to clean up (the tqdm interface)."""
