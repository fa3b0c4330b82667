"""A real RTSP server (GStreamer's gst-rtsp-server) for the stream tests, run by the system Python.

    /usr/bin/python3 tests/helpers/rtsp_server.py PORT FILE.mp4 [--udp-only]

Serves FILE (H.264 in MP4) at rtsp://127.0.0.1:PORT/cam in real time, each client from the
start, and prints "ready" once it listens. The tests kill it (a server that goes away), stop it
with SIGSTOP (a server that stalls without closing) and start it again on the same port.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main() -> None:
    port, path = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(f'( filesrc location="{path}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 '
                       "config-interval=1 )")
    factory.set_shared(False)
    if "--udp-only" in sys.argv:
        factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on port {port}", flush=True)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
