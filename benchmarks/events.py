"""Events on an MQTT broker: how long from a camera's frame to its event on the broker, and what
publishing (and a broker that goes away) costs the cameras.

    python benchmarks/events.py                 # 2 RTSP cameras, 90 s per run
    python benchmarks/events.py --seconds 300

Two real RTSP servers on loopback (GStreamer's, as in the tests) stream the CC BY montage
(640x480, 30 fps, 16 people, 7 shots) in a loop; `run --parallel --headless` runs both, one
process each, with `--left-after 0.5` (more appeared / left events to time). A real mosquitto on
loopback takes the events; a subscriber notes when each arrives.

Three runs, back to back:
- without --mqtt (the baseline frame rate);
- with --mqtt: per event, frame read -> event on the broker (`captured` to arrival), split into
  frame read -> event said (`captured` to `at`: tracking, deciding) and event said -> on the
  broker (`at` to arrival: the queue, paho, the broker, the subscriber);
- with --mqtt, the broker killed a third of the way in and started again at two thirds: the frame
  rate while it is down, and whether every event (by its seq) still reaches the broker, in order.
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
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tracker, and tests.helpers

from tests.helpers.mqtt_broker import Broker, Subscriber, available  # noqa: E402
from tests.helpers.rtsp import RtspServer, h264_clip, missing  # noqa: E402

MONTAGE = ROOT / "tests" / "data" / "ccby" / "shotchange_ccby_montage.mp4"
STATUS_S = 5.0


def _wall(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def run(seconds: float, work: Path, name: str, broker: Broker | None, outage: bool = False) -> dict:
    events = work / f"events-{name}.jsonl"
    servers = [RtspServer(work / "montage.mp4") for _ in range(2)]
    for s in servers:
        s.start()
    sub = Subscriber(broker, ("facetrack/+/events",)) if broker is not None else None
    arrivals: dict[tuple[str, int], float] = {}
    if sub is not None:
        def note(_c: object, _u: object, msg: object) -> None:
            body = json.loads(msg.payload)  # type: ignore[attr-defined]
            arrivals.setdefault((body["camera"], body["seq"]), time.time())

        sub.client.on_message = note
    try:
        cmd = [sys.executable, "-m", "tracker", "run", "--parallel", "--headless", *[s.url for s in servers],
               "--gallery", str(work / f"g-{name}.sqlite3"), "--events", str(events), "--status-every", str(STATUS_S),
               "--config", str(work / "bench.toml")]
        if broker is not None:
            cmd += ["--mqtt", broker.url()]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        down: tuple[float, float] | None = None
        if outage and broker is not None:
            time.sleep(seconds / 3)
            broker.kill(signal.SIGTERM)
            t_down = time.time()
            time.sleep(seconds / 3)
            broker.start()
            down = (t_down, time.time())
            time.sleep(seconds / 3)
        else:
            time.sleep(seconds)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        time.sleep(2.0)  # the last events' way to the subscriber
    finally:
        for s in servers:
            s.kill()
        if sub is not None:
            sub.close()
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    status = [e for e in lines if e["event"] == "status"]
    by_cam: dict[str, list[dict]] = {}
    for e in status:
        by_cam.setdefault(e["camera"], []).append(e)
    fps = {c: statistics.mean(e["fps"] for e in st[1:]) for c, st in by_cam.items() if len(st) > 1}
    p95 = [e["latency_p95_ms"] for st in by_cam.values() for e in st[1:] if e["latency_p95_ms"] is not None]
    errors = [x for x in err.splitlines() if "error:" in x or "Traceback" in x]
    out: dict = {"name": name, "fps": fps, "errors": errors, "p95": statistics.median(p95) if p95 else None}
    if down is not None:
        during = [e["fps"] for e in status if down[0] + STATUS_S <= _wall(e["at"]) <= down[1]]
        out["fps_down"] = statistics.mean(during) if during else None
    if broker is not None:
        person = [e for e in lines if "captured" in e and e["event"] != "left"]
        total, work_ms, hop = [], [], []
        for e in person:
            arrived = arrivals.get((e["camera"], e["seq"]))
            if arrived is None:
                continue
            said, read = _wall(e["at"]), _wall(e["captured"])
            total.append((arrived - read) * 1000)
            work_ms.append((said - read) * 1000)
            hop.append((arrived - said) * 1000)
        sent = [(e["camera"], e["seq"]) for e in lines]
        out["events"] = len(sent)
        out["lost"] = sum(1 for k in sent if k not in arrivals)
        out["timed"] = len(total)

        def pct(xs: list[float], q: int) -> float | None:
            return statistics.quantiles(xs, n=100)[q - 1] if len(xs) >= 2 else None

        out["latency"] = {k: (pct(v, 50), pct(v, 95)) for k, v in
                          (("frame to broker", total), ("frame to event", work_ms), ("event to broker", hop))}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=90.0)
    args = ap.parse_args()
    for why in (missing(), available()):
        if why:
            print(f"cannot run: {why}")
            return 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "bench.toml").write_text("left_after = 0.5\n")
        # H.264 with frequent keyframes, long enough for a run (the server streams it in real time).
        h264_clip(MONTAGE, work / "montage.mp4", loops=int(args.seconds // 25.7) + 2)
        broker = Broker().start()
        try:
            results = [run(args.seconds, work, "baseline", None),
                       run(args.seconds, work, "mqtt", broker),
                       run(args.seconds, work, "outage", broker, outage=True)]
        finally:
            broker.close()
    base = statistics.mean(results[0]["fps"].values()) if results[0]["fps"] else float("nan")
    print(f"2 RTSP cameras (the CC BY montage, 640x480, 30 fps), run --parallel --headless, "
          f"{args.seconds:.0f} s per run")
    print("| run | frames/s per camera | vs baseline | p95 capture to result, every frame | events | lost | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        fps = ", ".join(f"{v:.1f}" for _, v in sorted(r["fps"].items()))
        mean = statistics.mean(r["fps"].values()) if r["fps"] else float("nan")
        extra = f" (broker down: {r['fps_down']:.1f})" if r.get("fps_down") else ""
        p95 = f"{r['p95']:.0f} ms" if r["p95"] is not None else "-"
        print(f"| {r['name']} | {fps}{extra} | {mean / base:.2f} | {p95} | {r.get('events', '-')} "
              f"| {r.get('lost', '-')} | {len(r['errors'])} |")
    lat = results[1]["latency"]
    print(f"\nlatency with --mqtt ({results[1]['timed']} person events timed), ms:")
    print("| | p50 | p95 |")
    print("| --- | --- | --- |")
    for k, (p50, p95) in lat.items():
        print(f"| {k} | {p50:.0f} | {p95:.0f} |" if p50 is not None else f"| {k} | - | - |")
    for r in results:
        for line in r["errors"][:5]:
            print(f"{r['name']}: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
