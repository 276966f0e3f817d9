"""A network receipt printer on 127.0.0.1 for tests (raw TCP, like port 9100).

It parses the ESC/POS stream with :mod:`tests.support.escpos_parse`, answers ``DLE EOT 1`` (online) and
``DLE EOT 4`` (paper) at command boundaries, and counts a receipt as printed when its cut
arrives. Faults: ``go_offline()`` closes the listener (connection refused) and drops open
connections; ``paper = "out"``; ``drop_after = N`` closes the next connection after N bytes
(mid-job); ``stall = True`` takes the data but never answers ``DLE EOT 1`` (the
confirmation the driver waits for after a job).
"""

from __future__ import annotations

import socket
import threading

from tests.support.escpos_parse import next_command, text

ONLINE, OFFLINE = 0x16, 0x1E
PAPER = {"ok": 0x12, "near_end": 0x1E, "out": 0x72}


class FakePrinter:
    def __init__(self):
        self.port = 0
        self.paper = "ok"
        self.drop_after: int | None = None
        self.stall = False
        self.receipts: list[bytes] = []          #: each complete job's bytes (up to and with its cut)
        self.connections = 0
        self.queries: list[bytes] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self.go_online()

    # -- control -------------------------------------------------------------------------
    def go_online(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def go_offline(self) -> None:
        listener, self._listener = self._listener, None
        if listener:
            _shut(listener)          # shutdown wakes the thread blocked in accept(); close alone does not
        for conn in list(self._conns):
            _shut(conn)

    def close(self) -> None:
        self.go_offline()

    def printed_texts(self) -> list[str]:
        with self._lock:
            return [text(r) for r in self.receipts]

    def count(self, marker: str) -> int:
        return sum(1 for t in self.printed_texts() if marker in t.replace("\n", ""))

    # -- serving -------------------------------------------------------------------------
    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf, pos, job_start, received = b"", 0, 0, 0
        drop_at, self.drop_after = self.drop_after, None
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                received += len(chunk)
                if drop_at is not None and received >= drop_at:
                    return                                        # the cable is pulled mid-job
                buf += chunk
                while pos < len(buf):
                    step = next_command(buf, pos)
                    if step is None:
                        break
                    start, (pos, event) = pos, step
                    if event.kind == "status_query":
                        self.queries.append(event.data)
                        job_start = pos if job_start == start else job_start
                        if not (self.stall and event.data == b"\x01"):
                            conn.sendall(bytes([ONLINE if event.data == b"\x01" else PAPER[self.paper]]))
                    elif event.kind == "cut":
                        with self._lock:
                            self.receipts.append(buf[job_start:pos])
                        job_start = pos
        except OSError:
            return
        finally:
            _shut(conn)
            if conn in self._conns:
                self._conns.remove(conn)


def _shut(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()
