"""The progress bar of the management commands: tqdm on the command's stderr.

Services report progress as `progress(done, total)` callbacks with absolute counts; a
`ProgressBar` is such a callback. On a terminal it redraws at most ten times a second; written
to a file or a pipe it redraws every five seconds, so a log gets a line now and then rather than
thousands.
"""

from __future__ import annotations

from typing import IO, Any, cast

from django.core.management.base import OutputWrapper
from tqdm import tqdm


class ProgressBar:
    """tqdm, fed absolute (done, total) counts; nothing is drawn for fewer than `min_total`
    units or when `enabled` is false (e.g. verbosity 0)."""

    def __init__(
        self,
        stream: OutputWrapper | IO[str],
        *,
        unit: str = "items",
        min_total: int = 0,
        enabled: bool = True,
    ) -> None:
        # OutputWrapper adds a line ending to every write; tqdm needs the stream under it.
        self.stream = cast(IO[str], stream._out) if isinstance(stream, OutputWrapper) else stream
        self.unit = unit
        self.min_total = min_total
        self.enabled = enabled
        self.bar: tqdm | None = None
        self.finished = False

    def __call__(self, done: int, total: int) -> None:
        if self.finished:
            return
        if self.bar is None:
            if not self.enabled or total <= 0 or total < self.min_total:
                return
            tty = hasattr(self.stream, "isatty") and self.stream.isatty()
            self.bar = tqdm(
                total=total,
                file=self.stream,
                unit=f" {self.unit}",
                mininterval=0.1 if tty else 5.0,
                dynamic_ncols=tty,
                ascii=not tty,
            )
        bar = self.bar
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        """Draws the last state and ends the line; later calls draw nothing."""
        self.finished = True
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
