"""A copy of the gallery follows another process's changes by the store's change log: only the rows
that changed are read again, and the copy is then exactly what a fresh read of the store gives.
Over SQLite and PostgreSQL alike."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.gallery import synced
from tests.helpers.paths import DATA
from tests.helpers.postgres import execute
from tracker.gallery.gallery import Gallery, Provenance


def state(g: Gallery) -> tuple:  # type: ignore[type-arg]
    order = np.argsort(g._table.ids)
    return (sorted(g.people(), key=lambda p: p.id), sorted(g.links()), g._table.ids[order].tolist(),
            g.labels[order].tolist(), g.vectors[order].tobytes(), g.origins[order].tolist())


def same_as_fresh(g: Gallery) -> None:
    with Gallery(g.location) as fresh:
        # PostgreSQL's notification of another connection's commit comes milliseconds after it.
        deadline = time.monotonic() + 3
        while state(g) != state(fresh) and time.monotonic() < deadline:
            time.sleep(0.005)
            g.sync()
        assert state(g) == state(fresh)
        q = fresh.vectors[:3] if len(fresh.vectors) else np.zeros((1, 128), np.float32)
        a, b = g.person_distances(q, 3, 0.9), fresh.person_distances(q, 3, 0.9)
        # The same rows, in another order in the copy's buffers: float32 products summed in another
        # order round differently, most of all a sample's distance to itself (the square root of a
        # cancellation, ~1e-3 instead of 0). Same people; the same distances to well within that.
        assert a[0].tolist() == b[0].tolist() and np.allclose(a[1], b[1], rtol=0, atol=2e-3)


OPS = ["person", "samples", "learn", "merge", "split", "forget", "remove", "rename", "link", "undo"]


# A fresh gallery per example: new_gallery makes one per call (the fixture itself is the maker).
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.sampled_from(OPS), min_size=1, max_size=25), seed=st.integers(0, 2**31))
def test_another_process_changes_reach_this_copy_without_reading_everything(
        new_gallery: Callable[[], Path | str], ops: list[str], seed: int) -> None:
    path = new_gallery()
    rng = np.random.default_rng(seed)
    other = Gallery(path)
    other.add_person("Ann")
    mine = Gallery(path)
    loads = mine.full_loads
    for op in ops:
        people = other.people()
        p = people[int(rng.integers(0, len(people)))] if people else None
        if op == "person" or p is None:
            other.add_person(None, known=bool(rng.integers(0, 2)))
        elif op == "samples":
            other.add_descriptors(p.id, rng.normal(size=(int(rng.integers(1, 5)), 128)).astype(np.float32) * 0.05)
        elif op == "learn":
            other.learn(p.id, rng.normal(size=128).astype(np.float32) * 0.05, b"", 0.0, 3, Provenance("x", 1, 1, 0.0))
        elif op == "merge" and len(people) > 1:
            q = next(x for x in people if x.id != p.id)
            with other.action("merge"):
                other.merge(p.name, q.name)
        elif op == "split" and p.descriptors > 1:
            ids = [s.id for s in other.samples(p.id)][:1]
            with other.action("split"):
                other.split(p.name, ids)
        elif op == "forget" and p.descriptors:
            other.forget(p.name, [other.samples(p.id)[0].id])
        elif op == "remove":
            with other.action("remove"):
                other.remove(p.name)
        elif op == "rename":
            other.rename(p.name, f"N{int(rng.integers(0, 10**6))}")
        elif op == "link" and len(people) > 1:
            other.add_cannot_links([(people[0].id, people[-1].id)])
        elif op == "undo" and other.can_undo():
            other.undo()
        assert mine.sync() or True
        same_as_fresh(mine)
        # Writing from this copy too: its own rows are in the log as well.
        if rng.integers(0, 4) == 0 and mine.people():
            mine.add_descriptors(mine.people()[0].id, rng.normal(size=(1, 128)).astype(np.float32) * 0.05)
            other.sync()
            same_as_fresh(other)
    assert mine.full_loads == loads  # never the whole gallery again
    other.close()
    mine.close()


def test_a_copy_behind_a_trimmed_log_reads_everything_again(gallery_at: Path | str) -> None:
    path = gallery_at
    with Gallery(path) as other, Gallery(path) as mine:
        other.add_person("Ann")
        mine.sync()
        loads = mine.full_loads
        other.add_descriptors(other.require("Ann").id, np.ones((2, 128), np.float32) * 0.01)
        execute(path, "DELETE FROM changes")  # as if 50,000 later changes had pushed those out
        other.add_person("Bob")
        assert synced(mine)
        assert mine.full_loads == loads + 1
        same_as_fresh(mine)


def test_a_schema_2_gallery_gets_the_change_log(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite3"
    path.write_bytes((DATA / "gallery_schema2.sqlite3").read_bytes())
    with Gallery(path) as a, Gallery(path) as b:
        loads = b.full_loads
        lin = a.require("Lin-Manuel Miranda")
        a.add_descriptors(lin.id, np.ones((1, 128), np.float32) * 0.02)
        assert b.sync() and b.full_loads == loads
        assert b.require("Lin-Manuel Miranda").descriptors == lin.descriptors + 1
        same_as_fresh(b)


def test_pruning_chooses_the_same_in_a_long_lived_copy_as_after_a_reopen(
        new_gallery: Callable[[], Path | str]) -> None:
    """The table's row order changes with every deletion (the last row moves into the gap); what
    pruning drops must not: of the closest pair, the older sample goes, in any copy."""
    def vec(x: float) -> np.ndarray:
        v = np.zeros(128, np.float32)
        v[0] = x
        return v

    kept = []
    for reopen in (False, True):
        path = new_gallery()
        g = Gallery(path)
        pid = g.add_person("Ann").id
        ids = g.add_descriptors(pid, np.stack([vec(0.0), vec(0.30), vec(0.70), vec(0.32)]))  # 0.30/0.32 closest
        g.forget("Ann", [ids[0]])  # the last row moves into the first's place
        if reopen:
            g.close()
            g = Gallery(path)
        g.add_descriptors(pid, vec(2.0)[None])
        g.prune(pid, 3)
        kept.append(sorted(s.id for s in g.samples(pid)))
        g.close()
    assert kept[0] == kept[1]


def test_a_schema_2_gallery_opened_to_read_is_not_migrated(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite3"
    path.write_bytes((DATA / "gallery_schema2.sqlite3").read_bytes())
    with Gallery(path, readonly=True) as g:
        assert g.require("Lin-Manuel Miranda").known
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == "2"
    db.close()
