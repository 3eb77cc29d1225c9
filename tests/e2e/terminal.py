"""A full-screen terminal program driven through a pseudo-terminal, for clients whose MCP view is in their TUI.

Contract: `Terminal.start(argv, env, cwd)` runs the program on a new pty (200x50, its own session
and process group) and is a context manager. The output goes through a terminal emulator (pyte):
a TUI redraws only the cells that change, so the raw bytes are not the text; `text` is what a
user would see, the scrollback, then the screen. `expect(pattern, within, skip)` reads output
until the text holds more than `skip` matches of the regex (`skip=count(pattern)` waits for a
new one) and fails with the tail of the text when it does not in time. `type_lines(*lines)` sends
keys; a TUI reads a paste as one key press, so each line is typed and then sent with its own
Enter. On exit the program and the MCP servers it started (its process group) get `within`
seconds to quit by themselves (a test asks with the client's quit command), then the group is
terminated, then killed: nothing the client started outlives the test.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path
from types import TracebackType

import pyte

ROWS, COLUMNS = 50, 200
SCROLLBACK = 5000


class _Screen(pyte.HistoryScreen):
    def select_graphic_rendition(self, *attributes: int, private: bool = False) -> None:
        if not private:  # `CSI > … m` sets xterm key modes, not colours; pyte 0.8.2 fails on it
            super().select_graphic_rendition(*attributes)


class Terminal:
    def __init__(self, process: subprocess.Popen[bytes], master: int) -> None:
        self._process = process
        self._master = master
        self._screen = _Screen(COLUMNS, ROWS, history=SCROLLBACK)
        self._stream = pyte.ByteStream(self._screen)

    @classmethod
    def start(cls, argv: list[str], env: dict[str, str], cwd: Path) -> Terminal:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env={**env, "TERM": "xterm-256color"}, cwd=cwd,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        return cls(process, master)

    @property
    def text(self) -> str:
        """The scrollback and the screen, one line per row, trailing blanks trimmed."""
        scrolled = ["".join(line[column].data for column in range(COLUMNS)) for line in self._screen.history.top]
        return "\n".join(line.rstrip() for line in [*scrolled, *self._screen.display])

    def _read(self, timeout: float) -> bool:
        """Append what the program wrote within `timeout`; False once it closed the terminal."""
        if not select.select([self._master], [], [], timeout)[0]:
            return True
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # EIO: every process on the terminal has exited
            return False
        self._stream.feed(chunk)
        return bool(chunk)

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.text))

    def expect(self, pattern: str, within: float, skip: int = 0) -> re.Match[str]:
        """Match number `skip` (from 0) of `pattern` in the text, once there is one; `skip=count(…)` waits for a new one."""
        deadline = time.monotonic() + within
        compiled = re.compile(pattern)
        while True:
            found = list(compiled.finditer(self.text))
            if len(found) > skip:
                return found[skip]
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {pattern!r} on the screen within {within}s; it shows:\n{self.text[-6000:]}"
            if not self._read(min(remaining, 0.5)):
                assert len(compiled.findall(self.text)) > skip, (
                    f"exited before {pattern!r}; it showed:\n{self.text[-6000:]}"
                )

    def type_lines(self, *lines: str) -> None:
        for line in lines:
            os.write(self._master, line.encode())
            time.sleep(0.5)  # let the TUI take the text (and its completions) before the Enter
            os.write(self._master, b"\r")

    def _group_alive(self) -> bool:
        try:
            os.killpg(self._process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def close(self, within: float = 15) -> None:
        deadline = time.monotonic() + within
        while self._process.poll() is None and time.monotonic() < deadline:
            self._read(0.2)  # keep draining, so the program is never blocked writing
        # Its MCP servers are in its process group and shut down once their stdin closes.
        while self._group_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        for stop in (signal.SIGTERM, signal.SIGKILL):
            if not self._group_alive():
                break
            os.killpg(self._process.pid, stop)
            settle = time.monotonic() + 10
            while self._group_alive() and time.monotonic() < settle:
                self._process.poll()
                time.sleep(0.2)
        self._process.wait()
        os.close(self._master)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
