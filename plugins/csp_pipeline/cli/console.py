"""The operator's terminal: the command's own lines and progress bars.

While `csp run` captures library output into its log, the console keeps writing to the terminal
the command started with. A progress bar redraws in place on a terminal and prints nothing
elsewhere (a pipe or a file gets the lines only).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

BAR_WIDTH = 30


class Console:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._bar: Bar | None = None

    @classmethod
    def terminal(cls) -> Console:
        """A handle on the current stdout that outlives a run's redirection of it."""
        try:
            return cls(os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1))
        except (AttributeError, OSError, ValueError):  # no file descriptor (embedded, tests)
            return cls(sys.stdout)

    def line(self, text: str = "") -> None:
        self._clear()
        self.stream.write(text + "\n")
        self._draw()
        self.stream.flush()

    def bar(self, label: str, total: int, unit: str) -> Bar:
        self.close_bar()
        self._bar = Bar(self, label, total, unit)
        self._draw()
        return self._bar

    def close_bar(self) -> None:
        self._clear()
        self._bar = None

    def _draw(self) -> None:
        if self.tty and self._bar is not None:
            self.stream.write("\r" + self._bar.render())
            self.stream.flush()

    def _clear(self) -> None:
        if self.tty and self._bar is not None:
            self.stream.write("\r\033[K")


class Bar:
    def __init__(self, console: Console, label: str, total: int, unit: str) -> None:
        self.console, self.label, self.total, self.unit = console, label, max(total, 1), unit
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        self.console._clear()
        self.console._draw()

    def render(self) -> str:
        filled = min(BAR_WIDTH, BAR_WIDTH * self.done // self.total)
        return (f"  {self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                f"{self.done}/{self.total} {self.unit}")
