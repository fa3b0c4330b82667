"""A real MJPEG-over-HTTP camera on loopback, serving frames at a fixed rate."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
from numpy.typing import NDArray

BOUNDARY = "facetrackframe"


class MjpegCamera:
    """Serves `frames` (RGB) in a loop at `fps`. `drop_after` frames, it cuts each client off,
    as a flaky camera does; `max_connections` limits how many times it lets clients in."""

    def __init__(self, frames: list[NDArray[np.uint8]], fps: float = 30.0, drop_after: int | None = None,
                 max_connections: int | None = None, duration_s: float = 30.0) -> None:
        self.jpegs = [cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR))[1].tobytes() for f in frames]
        self.fps = fps
        self.drop_after = drop_after
        self.max_connections = max_connections
        self.duration_s = duration_s
        self.connections = 0
        self.sent = 0
        self._stop = threading.Event()
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                camera.connections += 1
                if camera.max_connections is not None and camera.connections > camera.max_connections:
                    self.send_error(503)
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.end_headers()
                start = time.monotonic()
                n = 0
                try:
                    while not camera._stop.is_set() and time.monotonic() - start < camera.duration_s:
                        data = camera.jpegs[camera.sent % len(camera.jpegs)]
                        self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                         f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
                        camera.sent += 1
                        n += 1
                        if camera.drop_after is not None and n >= camera.drop_after:
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        time.sleep(max(0.0, start + n / camera.fps - time.monotonic()))
                except (BrokenPipeError, ConnectionResetError, OSError):
                    return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stream.mjpg"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MjpegCamera:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
