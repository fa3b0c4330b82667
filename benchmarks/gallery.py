"""Large galleries: identity time per face and people-panel update time, at 100, 1,000 and 2,000
people with 48 descriptors each (targets: under 1 ms per face at 2,000 people; no panel update
over 16 ms).

    python benchmarks/gallery.py [--people 100 1000 2000] [--postgres]

Identity: a track is scored over its 8 most recent faces against every stored descriptor
(Gallery.person_distances: tracker/gallery/descriptor_table.py's index), timed per face, next to the plain
definition (float64, one pass over the gallery per person) that it replaced. Panel: the real
PeoplePanel (offscreen) fed by a stand-in session: a change of one person (a new "last seen"),
a rename (the order changes) and one new person, each timed to the end of Qt's event processing,
next to building the rows from scratch. Writes (learn, enrol) and another copy following them go to
a real SQLite file, or with --postgres to a PostgreSQL database on a throwaway loopback server.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tracker.gallery.gallery import Person  # noqa: E402
from tracker.identity import policy as identity  # noqa: E402

PER_PERSON = 48
WINDOW = 8


def plain(q: np.ndarray, vectors: np.ndarray, labels: np.ndarray, k: int, limit: float) -> None:
    d = identity.pairwise_distances(q, vectors)
    for pid in np.unique(labels[d.min(0) < limit]):
        identity.nearest_mean(d[:, labels == pid], k)


def gallery(people: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Real descriptors of one person lie ~0.3-0.45 apart and of two people ~0.55-0.8: centres
    # 0.7 apart on average, samples scattered around them.
    centres = rng.normal(size=(people, 128)) * (0.7 / np.sqrt(2 * 128))
    labels = np.repeat(np.arange(1, people + 1), PER_PERSON).astype(np.int64)
    vectors = (centres[labels - 1] + rng.normal(size=(len(labels), 128)) * (0.38 / np.sqrt(2 * 128))).astype(
        np.float32)
    return centres, vectors, labels


def time_identity(people: int) -> tuple[float, float]:
    rng = np.random.default_rng(people)
    centres, vectors, labels = gallery(people, rng)
    tracks = [(centres[rng.integers(0, people)] + rng.normal(size=(WINDOW, 128)) * (0.38 / np.sqrt(256))
               ).astype(np.float32) for _ in range(20)]
    from tracker.gallery.descriptor_table import DescriptorTable

    table = DescriptorTable()  # what a Gallery queries: its index, kept in step with every change
    table.load(vectors, labels, np.arange(1, len(labels) + 1, dtype=np.int64), np.zeros(len(labels), np.int8))
    for q in tracks[:3]:
        table.person_distances(q, 3, 0.75)
    t = time.perf_counter()
    for q in tracks:
        table.person_distances(q, 3, 0.75)
    new = (time.perf_counter() - t) / (len(tracks) * WINDOW) * 1000
    t = time.perf_counter()
    for q in tracks[:3]:
        plain(q, vectors, labels, 3, 0.75)
    old = (time.perf_counter() - t) / (3 * WINDOW) * 1000
    return new, old


def time_learning(people: int, tmp: Path, location: str | None = None) -> dict[str, float]:
    """A real gallery file of `people` x 48, in ms (medians): a learned sample at the bound (the
    tracker's steady state: one stored, the most redundant one pruned, both written to the file),
    an enrolled photo, and the first identity query after a change; next to what the copying
    version cost in memory alone for one change (every stored array copied with the new row,
    and the k-NN index rebuilt at the next query)."""
    from tracker.gallery.gallery import Gallery, Provenance

    rng = np.random.default_rng(people)
    centres, vectors, labels = gallery(people, rng)
    g = Gallery(location or tmp / f"learn-{people}.sqlite3")
    for pid in range(1, people + 1):
        p = g.add_person(None, known=False)
        g.add_descriptors(p.id, vectors[labels == pid])
    ids = [p.id for p in g.people()]
    q = vectors[:1]  # one face: the tracker's query for a new sample
    g.person_distances(q, 3, 0.75)
    learn, enrol, query = [], [], []
    for i in range(30):
        pid = ids[int(rng.integers(0, len(ids)))]
        sample = (centres[ids.index(pid)] + rng.normal(size=128) * (0.38 / np.sqrt(256))).astype(np.float32)
        t = time.perf_counter()
        g.learn(pid, sample, b"", 0.0, PER_PERSON, Provenance("bench", 1, i, 0.0))
        t1 = time.perf_counter()
        g.person_distances(q, 3, 0.75)
        learn.append(t1 - t)
        query.append(time.perf_counter() - t1)
    for i in range(10):
        t = time.perf_counter()
        g.enroll(f"Enrolled {i}", vectors[i][None], [b""])
        enrol.append(time.perf_counter() - t)
    # Another process's copy (a second camera) following one learned sample: its refresh, and
    # the whole re-read it replaced.
    other = Gallery(g.location)
    follow, reread = [], []
    for i in range(10):
        pid = ids[int(rng.integers(0, len(ids)))]
        g.learn(pid, vectors[i] + np.float32(0.01), b"", 0.0, PER_PERSON, Provenance("bench", 2, i, 0.0))
        t = time.perf_counter()
        while not other.sync():  # PostgreSQL: until the commit's notification has arrived
            pass
        follow.append(time.perf_counter() - t)
    for _ in range(3):
        t = time.perf_counter()
        other._load()
        reread.append(time.perf_counter() - t)
    other.close()
    g.close()
    v, lab = vectors.copy(), labels.copy()
    ids_, org = np.arange(len(lab), dtype=np.int64), np.zeros(len(lab), np.int8)
    copying = []
    for _ in range(10):
        t = time.perf_counter()
        v = np.concatenate([v, v[:1]])
        lab = np.concatenate([lab, lab[:1]])
        ids_, org = np.concatenate([ids_, ids_[:1]]), np.concatenate([org, org[:1]])
        identity.person_distances(q, v, lab, 3, 0.75)
        copying.append(time.perf_counter() - t)
    med = {k: float(np.median(x)) * 1000 for k, x in
           (("learn", learn), ("enrol", enrol), ("query", query), ("copying", copying), ("follow", follow),
            ("reread", reread))}
    return med


class StandIn:
    """What the panel reads from a session."""

    def __init__(self, views: list) -> None:  # type: ignore[type-arg]
        self.version = 1
        self.views = views

    def people(self):  # type: ignore[no-untyped-def]
        return self.version, self.views

    def suggestions(self) -> list:  # type: ignore[type-arg]
        return []

    def can_undo(self) -> None:
        return None


def time_panel(people: int) -> dict[str, float]:
    from PyQt6.QtWidgets import QApplication

    from ui.session.state import PersonView
    from ui.widgets.people_panel import PeoplePanel

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(people)
    now = time.time()
    views = [PersonView(Person(i, f"Person {i}", i % 7 == 0, PER_PERSON, now - 3600, now - i),
                        rng.integers(0, 255, (150, 150, 3), dtype=np.uint8)) for i in range(1, people + 1)]
    session = StandIn(views)

    def timed(panel: PeoplePanel) -> float:
        session.version += 1
        t = time.perf_counter()
        panel.refresh()
        app.processEvents()
        return (time.perf_counter() - t) * 1000

    panel = PeoplePanel(session)  # type: ignore[arg-type]
    panel.show()
    out = {"build": timed(panel)}
    seen = []
    for _ in range(5):  # one person seen again: a new "last seen" and one more descriptor
        i = int(rng.integers(0, people))
        p = views[i].person
        views[i] = PersonView(Person(p.id, p.name, p.known, p.descriptors + 1, p.created, time.time()),
                              views[i].thumbnail)
        session.views = list(views)
        seen.append(timed(panel))
    out["seen"] = max(seen)
    p = views[0].person  # a rename: the order changes
    views[0] = PersonView(Person(p.id, "Zoe", True, p.descriptors, p.created, p.last_seen), views[0].thumbnail)
    session.views = list(views)
    out["rename"] = timed(panel)
    views.append(PersonView(Person(people + 1, f"Person {people + 1}", False, 1, now, now),
                            rng.integers(0, 255, (150, 150, 3), dtype=np.uint8)))
    session.views = list(views)
    out["new"] = timed(panel)
    panel.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100, 1000, 2000])
    parser.add_argument("--postgres", action="store_true", help="writes to PostgreSQL (a loopback server)")
    args = parser.parse_args()
    server = None
    if args.postgres:
        from tests.helpers import postgres

        why = postgres.available()
        if why:
            raise SystemExit(f"cannot run: {why}")
        server = postgres.PostgresServer().start()
    print(f"{'people':>7} {'descriptors':>11} | {'identity ms/face':>16} {'plain ms/face':>13} {'x':>5} | "
          f"{'panel: build':>12} {'seen':>6} {'rename':>7} {'new':>6} ms")
    for n in args.people:
        new, old = time_identity(n)
        panel = time_panel(n)
        print(f"{n:7d} {n * PER_PERSON:11d} | {new:16.3f} {old:13.2f} {old / new:5.0f} | {panel['build']:12.1f} "
              f"{panel['seen']:6.1f} {panel['rename']:7.1f} {panel['new']:6.1f}")
    print(f"\n{'people':>7} | ms: {'learn a sample':>14} {'enrol a photo':>13} {'next query':>10} "
          f"{'other copy follows':>18} | before: copy + index rebuild + query, other copy re-reads all")
    print(f"(writes to {'PostgreSQL on loopback' if server else 'an SQLite file'})")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.people:
            m = time_learning(n, Path(tmp), server.database() if server else None)
            print(f"{n:7d} | {m['learn']:18.2f} {m['enrol']:13.2f} {m['query']:10.2f} {m['follow']:18.2f} | "
                  f"{m['copying']:8.2f} {m['reread']:8.2f}")
    if server is not None:
        server.stop()


if __name__ == "__main__":
    main()
