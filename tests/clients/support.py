"""Helpers for the client-library tests: put clients/python on sys.path, and a wire tap."""
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "python"
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))


def wait_until(predicate, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class Tap:
    """A Unix-socket relay in front of the daemon that records every line in both directions, in
    the order it crossed (one shared log), so tests can see what the client really sent and in
    which order the answers came back. ``drop()`` cuts the live connections."""

    def __init__(self, target, path):
        self.target, self.path = str(target), str(path)
        self.lines = []  # (direction "c>d"|"d>c", connection number, parsed JSON or None)
        self.lock = threading.Lock()
        self.connections = 0
        self.live = []
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            with self.lock:
                self.connections += 1
                number = self.connections
                self.live += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, "c>d", number), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, "d>c", number), daemon=True).start()

    def _pump(self, src, dst, direction, number):
        buf = b""
        try:
            while True:
                chunk = src.recv(1 << 20)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    try:
                        parsed = json.loads(line)
                    except ValueError:
                        parsed = None
                    with self.lock:  # record before forwarding: the log order is the wire order
                        self.lines.append((direction, number, parsed))
                    dst.sendall(line + b"\n")
            if buf:
                dst.sendall(buf)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def sent(self, method=None):
        with self.lock:
            return [m for d, _, m in self.lines if d == "c>d" and isinstance(m, dict)
                    and (method is None or m.get("method") == method)]

    def received(self):
        with self.lock:
            return [m for d, _, m in self.lines if d == "d>c" and isinstance(m, dict)]

    def response_order(self):
        return [m["id"] for m in self.received() if "method" not in m]

    def drop(self):
        with self.lock:
            live, self.live = self.live, []
        for s in live:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.drop()
        self.server.close()
