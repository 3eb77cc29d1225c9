"""The floor for any process in the path: a byte copier between the benchmark and a child process.

Standard library only; `cli` starts it as `scripts/bench --relay ARGV...`.
"""

from __future__ import annotations

import os
import subprocess
import threading


def relay(argv: list[str]) -> int:
    """The floor for any process in the path: copies stdin → child → stdout, one blocking thread each way.

    It neither parses nor buffers; the cost it adds over a direct pipe is what one more process
    costs on this machine (two more pipe hops, each a wake-up of a sleeping process).
    """
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert child.stdin is not None and child.stdout is not None

    def pump(source: int, target: int) -> None:
        while data := os.read(source, 1 << 20):
            view = memoryview(data)
            while view:
                view = view[os.write(target, view) :]

    def to_child() -> None:
        pump(0, child.stdin.fileno())  # type: ignore[union-attr]
        child.stdin.close()  # type: ignore[union-attr]

    threading.Thread(target=to_child, daemon=True).start()
    pump(child.stdout.fileno(), 1)
    return child.wait()
