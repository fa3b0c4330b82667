"""Many cameras on one machine: 1, 2 and 4 live 640x480 RTSP cameras at once (`run --parallel`).

    python benchmarks/cameras.py                  # 60 s for each of 1, 2 and 4 cameras
    python benchmarks/cameras.py --seconds 600 --cameras 2 4   # the 10-minute acceptance run
    python benchmarks/cameras.py --ray --postgres --cameras 2   # Ray actors, a PostgreSQL gallery

Each camera is a real RTSP server on loopback (GStreamer's, as in the tests) streaming the CC BY
montage (640x480, 30 fps, several people, 7 shots) in a loop, in real time. facetrack runs them
with `run --parallel --headless`, one process per camera, one shared gallery, and writes every
camera's `status` events (every 5 s). From those, per camera: frames processed per second,
frames dropped to stay live (a live source keeps only the newest frames), p95 capture-to-result
latency, and whether latency grows (the median of the per-interval p95s over the last third of
the run against the first third). Also: errors in the log, and whether every camera stayed
connected.

--ray runs the cameras as Ray actors on a local Ray instance (`run --ray`, the cluster set-up on
one machine) instead of processes; --postgres shares a PostgreSQL gallery (a throwaway server on
loopback, as in the tests) instead of an SQLite file.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tracker, and tests.helpers

from tests.helpers.rtsp import RtspServer, h264_clip, missing  # noqa: E402

MONTAGE = ROOT / "tests" / "data" / "ccby" / "shotchange_ccby_montage.mp4"
MONTAGE_S = 25.7
STATUS_S = 5.0


def run(n: int, seconds: float, clip: Path, work: Path, ray: bool = False, gallery: str | None = None) -> dict:
    events = work / f"events-{n}.jsonl"
    events.unlink(missing_ok=True)
    servers = [RtspServer(clip) for _ in range(n)]
    for s in servers:
        s.start()
    try:
        how = ["--ray", "--ray-cpus", str(max(2, n))] if ray else ["--parallel"]
        cmd = [sys.executable, "-m", "tracker", "run", *how, "--headless", *[s.url for s in servers],
               "--gallery", gallery or str(work / f"g-{n}.sqlite3"), "--events", str(events),
               "--status-every", str(STATUS_S)]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(seconds)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        for s in servers:
            s.kill()
    status = [json.loads(line) for line in events.read_text().splitlines() if '"status"' in line]
    cams: dict[str, list[dict]] = {}
    for e in status:
        if e["event"] == "status":
            cams.setdefault(e["camera"], []).append(e)
    rows = []
    for name, st in sorted(cams.items()):
        st = st[1:]  # the first interval holds the models' loading and the first connection
        fps = statistics.mean(e["fps"] for e in st) if st else 0.0
        p95 = [e["latency_p95_ms"] for e in st if e["latency_p95_ms"] is not None]
        third = max(1, len(p95) // 3)
        first, last = (statistics.median(p95[:third]), statistics.median(p95[-third:])) if p95 else (0.0, 0.0)
        rows.append({"camera": name, "fps": fps, "dropped": sum(e["dropped"] for e in st),
                     "offered": 30.0 * STATUS_S * len(st), "p95_ms": statistics.median(p95) if p95 else None,
                     "p95_first_ms": first, "p95_last_ms": last,
                     "connected": all(e["connected"] for e in st), "intervals": len(st)})
    errors = [line for line in err.splitlines() if "error" in line.lower() or "Traceback" in line]
    return {"cameras": n, "rows": rows, "exit": p.returncode, "errors": errors}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="how long each set of cameras runs")
    ap.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--ray", action="store_true", help="each camera a Ray actor on a local Ray instance")
    ap.add_argument("--postgres", action="store_true", help="a PostgreSQL gallery on a loopback server")
    args = ap.parse_args()
    why = missing()
    if why:
        print(f"cannot run: {why}")
        return 1
    server = None
    if args.postgres:
        from tests.helpers import postgres

        why = postgres.available()
        if why:
            print(f"cannot run: {why}")
            return 1
        server = postgres.PostgresServer().start()
    try:
        return _measure(args, server)
    finally:
        if server is not None:
            server.stop()


def _measure(args: argparse.Namespace, server: object) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        loops = int(args.seconds / MONTAGE_S) + 2  # the stream must not end during the run
        clip = h264_clip(MONTAGE, work / "montage.mp4", loops=loops)
        print(f"{args.seconds:.0f} s per run; each camera: the CC BY montage, 640x480 at 30 fps, over RTSP; "
              f"{'Ray actors' if args.ray else 'a process each'}, "
              f"{'a PostgreSQL' if server is not None else 'an SQLite'} gallery")
        print(f"{'cameras':>7} {'camera':<22} {'fps':>6} {'dropped':>9} {'p95 ms':>8} {'p95 first/last third':>22}"
              f" {'connected':>9}")
        for n in args.cameras:
            gallery = server.database() if server is not None else None  # type: ignore[attr-defined]
            res = run(n, args.seconds, clip, work, args.ray, gallery)
            for r in res["rows"]:
                p95 = "-" if r["p95_ms"] is None else f"{r['p95_ms']:.0f}"
                grow = f"{r['p95_first_ms']:.0f} / {r['p95_last_ms']:.0f}"
                share = f"{r['dropped']:.0f} ({r['dropped'] / r['offered']:.0%})" if r["offered"] else "0"
                print(f"{n:>7} {r['camera']:<22} {r['fps']:>6.1f} {share:>9} {p95:>8} {grow:>22} "
                      f"{r['connected']!s:>9}")
            total = sum(r["fps"] for r in res["rows"])
            print(f"{n:>7} {'all':<22} {total:>6.1f}   exit {res['exit']}, "
                  f"{len(res['errors'])} error lines{': ' + res['errors'][0] if res['errors'] else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
