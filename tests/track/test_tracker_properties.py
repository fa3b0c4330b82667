"""Property-based tests of the tracker with fakes (colour is identity): random scenes of faces
appearing, leaving, crossing and swapping places, shot cuts, and the user's actions. Whatever
happens, nothing raises, no two faces in a frame share a person, and a person who was only
enrolled never receives a sample of someone else's face."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.fakes import BASES, FakeDetector, FakeEmbedder, draw
from tracker.config import Config
from tracker.errors import FacetrackError
from tracker.gallery.gallery import Gallery
from tracker.records import Frame
from tracker.track.tracker import FaceTracker

COLOURS = ["red", "green", "blue"]
SLOTS = [10, 90, 170, 250]
NAMES = ["Ann", "Bob", "Cy"]

colour = st.sampled_from(COLOURS)
action = st.one_of(
    st.tuples(st.just("appear"), colour, st.integers(0, len(SLOTS) - 1)),
    st.tuples(st.just("appear"), colour, st.integers(0, len(SLOTS) - 1)),
    st.tuples(st.just("frames"), st.integers(1, 12)),
    st.tuples(st.just("lookalike"), colour, colour, st.integers(1, 12)),
    st.tuples(st.just("leave"), colour),
    st.tuples(st.just("swap"), colour, colour),
    st.tuples(st.just("frames"), st.integers(1, 12)),
    st.tuples(st.just("cut")),
    st.tuples(st.just("enrol"), colour, st.sampled_from(NAMES)),
    st.tuples(st.just("name"), st.integers(0, 3), st.sampled_from(NAMES)),
    st.tuples(st.just("reject"), st.integers(0, 3)),
    st.tuples(st.just("rename"), st.integers(0, 5), st.sampled_from([*NAMES, "Dee"])),
    st.tuples(st.just("merge"), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.just("split"), st.integers(0, 5), st.integers(1, 3)),
    st.tuples(st.just("remove"), st.integers(0, 5)),
    st.tuples(st.just("undo")),
    st.tuples(st.just("merge_shown"), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("name_as_shown"), st.integers(0, 3), st.integers(0, 3)),
)


def nearest_colour(v: np.ndarray) -> str:
    return min(COLOURS, key=lambda c: float(np.linalg.norm(v - BASES[c])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(action, min_size=1, max_size=40), st.integers(1, 6), st.booleans())
def test_random_scenes_and_user_actions_keep_identities_consistent(actions: list[tuple], every: int,
                                                                    batched: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "g.sqlite3"
        gallery = Gallery(path)
        emb = FakeEmbedder(noise=0.02)
        extra = {"embed_batch": 3, "embed_max_delay": 2} if batched else {}
        tracker = FaceTracker(Config(gallery=path, reembed_every=4, **extra), gallery, FakeDetector(), emb)
        where: dict[str, int] = {}
        pure: dict[int, str] = {}  # person id -> the one colour they may hold: enrolled, untouched since
        index = 0
        result = None

        def frame(cut: bool = False) -> None:
            nonlocal index, result
            faces = {c: (SLOTS[s], 60, 44) for c, s in where.items()}
            img = draw(320, 240, faces)
            f = Frame(img, index, index / 30, "clip")
            dets = tracker.detector.detect(img) if index % every == 0 or cut else None
            result = tracker.step(f, dets, cut=cut)
            decided = [int(p) for p in result.person_ids if p >= 0]
            assert len(decided) == len(set(decided))
            index += 1

        def person(i: int) -> str | None:
            people = sorted(p.name for p in gallery.people())
            return people[i % len(people)] if people else None

        for act in actions:
            kind = act[0]
            try:
                if kind == "appear":
                    taken = {s for c, s in where.items() if c != act[1]}
                    if act[2] not in taken:
                        where[act[1]] = act[2]
                    frame()
                elif kind == "leave":
                    where.pop(act[1], None)
                    frame()
                elif kind == "swap" and act[1] in where and act[2] in where:
                    where[act[1]], where[act[2]] = where[act[2]], where[act[1]]
                    frame()
                elif kind == "frames":
                    for _ in range(act[1]):
                        frame()
                elif kind == "lookalike":  # the next faces of one colour look like another's
                    emb.override[act[1]] = [act[2]] * act[3]
                elif kind == "cut":
                    frame(cut=True)
                elif kind == "enrol":
                    existing = gallery.find(act[2])
                    p = gallery.enroll(act[2], emb.descriptor(act[1])[None], [b""])
                    if existing is None:
                        pure[p.id] = act[1]
                    elif pure.get(p.id) != act[1]:
                        pure.pop(p.id, None)
                elif kind == "name" and result is not None and len(result):
                    tid = int(result.track_ids[act[1] % len(result)])
                    target = gallery.find(act[2])
                    shown = int(result.person_ids[act[1] % len(result)])
                    pure.pop(shown, None)
                    if target is not None:
                        pure.pop(target.id, None)
                    tracker.corrections.name_track(tid, act[2])
                elif kind == "reject" and result is not None and len(result):
                    tracker.corrections.reject_track(int(result.track_ids[act[1] % len(result)]))
                elif kind == "rename" and (name := person(act[1])):
                    tracker.corrections.rename_person(name, act[2])
                elif kind == "merge" and (a := person(act[1])) and (b := person(act[2])):
                    for n in (a, b):
                        p = gallery.find(n)
                        if p is not None:
                            pure.pop(p.id, None)
                    tracker.corrections.merge_people(a, b)
                elif kind == "split" and (name := person(act[1])):
                    p = gallery.require(name)
                    ids = [s.id for s in gallery.samples(p.id)][:act[2]]
                    pure.pop(p.id, None)
                    tracker.corrections.split_person(name, ids)
                elif kind == "remove" and (name := person(act[1])):
                    pure.pop(gallery.require(name).id, None)
                    tracker.corrections.remove_person(name)
                elif kind in ("merge_shown", "name_as_shown") and result is not None and len(result):
                    # The people of two faces in view are one (the user says so): merge, or name one
                    # face as the other's person.
                    i, j = act[1] % len(result), act[2] % len(result)
                    a, b = result.names[i], result.names[j]
                    if kind == "merge_shown" and a and b:
                        pure.pop(int(result.person_ids[i]), None)
                        pure.pop(int(result.person_ids[j]), None)
                        tracker.corrections.merge_people(a, b)
                    elif kind == "name_as_shown" and b:
                        pure.pop(int(result.person_ids[i]), None)
                        pure.pop(int(result.person_ids[j]), None)
                        tracker.corrections.name_track(int(result.track_ids[i]), b)
                elif kind == "undo":
                    pure.clear()  # an undo may bring back anything
                    tracker.corrections.undo()
            except FacetrackError:
                pass  # a refused user action (unknown name, nothing to undo...) is fine
            if result is not None:
                img = draw(320, 240, {c: (SLOTS[s], 60, 44) for c, s in where.items()})
                again = tracker.result(Frame(img, max(index - 1, 0), 0.0, "clip"))
                decided = [int(p) for p in again.person_ids if p >= 0]
                assert len(decided) == len(set(decided))
            for pid, c in pure.items():
                if gallery.person(pid) is None:
                    continue
                assert all(nearest_colour(v) == c for v in gallery.inventory(pid)), (pid, c)
        frame()
        gallery.close()
