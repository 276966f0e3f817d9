"""Print files: letters assembled into PDFs of at most 500, in worker processes.

The runner hands a worker one print file's letters once every row in it is committed to the
journal; the worker renders them (:func:`appliance.printing.letters.render_pdf`) and writes
the file atomically (temp file, fsync, rename), so a print file either exists complete or
not at all. Workers are *spawned*, never forked: the parent may hold a PKCS#11 session or
run web threads, neither of which survives a fork.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from appliance.printing.letters import Letter, render_pdf
from appliance.util.atomic import write_atomic

PER_FILE = 500


def file_name(index: int) -> str:
    """The name of print file ``index`` (0-based): ``letters-0001.pdf``."""
    return f"letters-{index + 1:04d}.pdf"


def render_file(path: str, letters: list[Letter], title: str) -> tuple[str, int, int]:
    """In a worker: render ``letters`` to ``path``; returns (name, pages, bytes)."""
    data = render_pdf(letters, title=title)
    write_atomic(Path(path), data, mode=0o600)
    return Path(path).name, len(letters), len(data)


def _lower_priority() -> None:
    """Worker start-up: render below the signing process and the tablet UI (nice 10)."""
    try:
        os.nice(10)
    except OSError:  # not permitted here: render at normal priority
        pass


def clean_partial(folder: Path) -> None:
    """Remove temp files a killed run left behind (``.letters-0001.pdf.*.tmp``)."""
    for stale in folder.glob(".*.tmp"):
        stale.unlink(missing_ok=True)


class Renderer:
    """A pool of spawned processes rendering print files; ``workers=0`` renders in this process.

    While the runner is still signing, at most ``workers - 1`` files render at once (at least
    one), so the signing process keeps a core to itself; :meth:`results` (signing done) lets
    every worker render. Workers run at nice 10, below signing and the tablet UI.
    """

    def __init__(self, workers: int | None = None):
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self._pool = (ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                          initializer=_lower_priority)
                      if self.workers > 0 else None)
        self._limit = max(1, self.workers - 1)
        self._waiting: deque[tuple[str, list[Letter], str]] = deque()
        self._running = 0
        self._lock = threading.Lock()
        self._futures: list[Future] = []

    def submit(self, path: Path, letters: list[Letter], title: str) -> None:
        if self._pool is None:
            future: Future = Future()
            future.set_result(render_file(str(path), letters, title))
            self._futures.append(future)
            return
        with self._lock:
            self._waiting.append((str(path), letters, title))
        self._pump()

    def _pump(self) -> None:
        with self._lock:
            while self._waiting and self._running < self._limit:
                future = self._pool.submit(render_file, *self._waiting.popleft())
                self._running += 1
                self._futures.append(future)
                future.add_done_callback(self._done)

    def _done(self, _future: Future) -> None:
        with self._lock:
            self._running -= 1
        self._pump()

    def results(self) -> list[tuple[str, int, int]]:
        """Let every worker render, wait for every file; a worker's error is raised here."""
        with self._lock:
            self._limit = max(1, self.workers)
        self._pump()
        while True:
            with self._lock:
                if not self._waiting:
                    futures = list(self._futures)
                    break
            futures_wait = [f for f in self._futures if not f.done()]
            if futures_wait:
                futures_wait[0].result()
        return [f.result() for f in futures]

    def close(self) -> None:
        if self._pool is not None:
            with self._lock:
                self._waiting.clear()
            self._pool.shutdown(wait=True, cancel_futures=True)
