"""Live-stream recovery against a real RTSP server on loopback (GStreamer's, as in the tests).

    python benchmarks/streams.py [--rounds 5]

Per round: the server is killed for 4 s and restarted (seconds from its return to the next
frame), paused with SIGSTOP (seconds to notice the stall) and resumed, and the source is stopped
while the server is down (seconds for Stop). Needs the packages `.ci/run` installs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.rtsp import RtspServer, h264_clip, missing  # noqa: E402
from tracker.engine.runtime import quiet_native_logs  # noqa: E402
from tracker.sources.live import LiveSource  # noqa: E402

CLIP = ROOT / "assets" / "demo" / "short_hamilton_clip.mp4"


class Consumer:
    def __init__(self, src: LiveSource) -> None:
        self.src, self.times, self.events = src, [], []  # type: ignore[var-annotated]
        src.status_listeners.append(lambda e, _: self.events.append((e, time.monotonic())))
        src.start()
        threading.Thread(target=lambda: [self.times.append(time.monotonic()) for _ in src.frames()],
                         daemon=True).start()

    def wait(self, cond, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit("timed out: is the RTSP server working?")
            time.sleep(0.01)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    quiet_native_logs(False)
    if missing():
        raise SystemExit(f"cannot run: {missing()}")
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        clip = h264_clip(CLIP, Path(d) / "loop.mp4")
        resume, stall, stop = [], [], []
        with RtspServer(clip) as server:
            for _ in range(args.rounds):
                c = Consumer(LiveSource(server.url))
                c.wait(lambda: len(c.times) > 30)  # noqa: B023
                server.kill()
                time.sleep(4.0)
                back = server.start()
                c.wait(lambda: c.times[-1] > back)  # noqa: B023
                resume.append(next(t for t in c.times if t > back) - back)
                server.pause()
                paused = time.monotonic()
                n = len(c.events)
                c.wait(lambda: len(c.events) > n)  # noqa: B023
                stall.append(c.events[n][1] - paused)
                server.resume()
                c.wait(lambda: c.times[-1] > paused + stall[-1])  # noqa: B023
                server.kill()
                time.sleep(1.0)
                t = time.monotonic()
                c.src.stop()
                stop.append(time.monotonic() - t)
                server.start()

    def row(name: str, xs: list[float], target: str) -> None:
        print(f"  {name:<44} median {statistics.median(xs):5.2f} s, worst {max(xs):5.2f} s   (target {target})")

    print(f"RTSP on loopback, {args.rounds} rounds")
    row("frames again after the server's return", resume, "< 3 s")
    row("stall (server paused) noticed", stall, "< 5 s")
    row("Stop while the server is down", stop, "< 2 s")


if __name__ == "__main__":
    main()
