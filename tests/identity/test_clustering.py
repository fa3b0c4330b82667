"""Constrained clustering (issue 20): hard cannot-links that no merge breaks, the same partition
whatever the order, and the one-image rule that keeps a group photo's faces apart but groups a
collage's faces by person."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.paths import ROOT
from tests.helpers.synth import montage_crops
from tracker.identity import clustering

MONTAGE = ROOT / "tests" / "data" / "ccby" / "shotchange_ccby_montage.mp4"
LABELS = ROOT / "tests" / "data" / "ccby" / "montage_labels.json"


def _groups(seed: int, n: int, people: int, spread: float) -> list[np.ndarray]:
    """Groups (tracks) of 1-5 faces around `people` random people; `spread` sets how alike they are."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 128)) * spread / np.sqrt(128)
    out = []
    for _ in range(n):
        c = centres[rng.integers(people)]
        out.append((c + rng.normal(size=(int(rng.integers(1, 6)), 128)) * 0.2 / np.sqrt(128)).astype(np.float32))
    return out


def _partition(labels: list[int]) -> set[frozenset[int]]:
    parts: dict[int, set[int]] = {}
    for i, lab in enumerate(labels):
        parts.setdefault(lab, set()).add(i)
    return {frozenset(p) for p in parts.values()}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 24), people=st.integers(1, 6),
       spread=st.floats(0.2, 1.2), threshold=st.floats(0.2, 1.5), links=st.integers(0, 40))
def test_no_cluster_ever_holds_a_cannot_linked_pair(seed: int, n: int, people: int, spread: float,
                                                   threshold: float, links: int) -> None:
    groups = _groups(seed, n, people, spread)
    rng = np.random.default_rng(seed + 1)
    cannot = [(int(a), int(b)) for a, b in rng.integers(0, n, size=(links, 2)) if a != b]
    labels = clustering.cluster(groups, threshold, cannot)
    assert len(labels) == n
    for a, b in cannot:
        assert labels[a] != labels[b], (a, b)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 20), people=st.integers(1, 5), links=st.integers(0, 20))
def test_the_partition_does_not_depend_on_the_order(seed: int, n: int, people: int, links: int) -> None:
    groups = _groups(seed, n, people, 0.8)
    rng = np.random.default_rng(seed + 2)
    cannot = [(int(a), int(b)) for a, b in rng.integers(0, n, size=(links, 2)) if a != b]
    perm = rng.permutation(n)
    inverse = np.argsort(perm)
    first = clustering.cluster(groups, 0.5, cannot)
    shuffled = clustering.cluster([groups[i] for i in perm], 0.5, [(int(inverse[a]), int(inverse[b]))
                                                                   for a, b in cannot])
    back = [shuffled[int(inverse[i])] for i in range(n)]
    assert _partition(first) == _partition(back)


def test_a_chain_of_look_alikes_is_not_one_person() -> None:
    """A-B-C with A close to B and B close to C but A far from C: label propagation (and single
    linkage) makes one person of the three; the median over faces does not."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=128)
    base /= np.linalg.norm(base)
    step = rng.normal(size=128)
    step -= step @ base * base
    step /= np.linalg.norm(step)
    faces = [np.stack([base * 3 + step * x + rng.normal(size=128) * 0.005 for _ in range(4)]) for x in (0.0, 0.45, 0.9)]
    labels = clustering.cluster(faces, 0.5)
    assert labels[0] != labels[2]


def _cluster_image(tmp_path, tiles: list[np.ndarray], cols: int) -> tuple[list[list[int]], int]:  # type: ignore[no-untyped-def]
    """`facetrack cluster` over one image of these tiles; the groups as lists of tile indices."""
    from tracker.cli.main import main

    rows = [np.hstack(tiles[i:i + cols]) for i in range(0, len(tiles), cols)]
    path = tmp_path / "sheet.png"
    cv2.imwrite(str(path), np.vstack(rows))
    out = tmp_path / "groups.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["cluster", str(path), "--json", "--gallery", str(tmp_path / "g.sqlite3")]) == 0
    out.write_text(buf.getvalue())
    groups = json.loads(buf.getvalue())["groups"]
    tile_of = []
    for g in groups:
        members = []
        for face in g["faces"]:
            left, top, right, bottom = face["box"]
            members.append(int((top + bottom) / 2 // 160) * cols + int((left + right) / 2 // 160))
        tile_of.append(members)
    return tile_of, sum(len(g) for g in tile_of)


@pytest.mark.parametrize("collage", [True, False], ids=["collage", "group photo"])
def test_a_collage_groups_by_person_and_a_group_photo_keeps_faces_apart(tmp_path, collage: bool) -> None:  # type: ignore[no-untyped-def]
    """A collage (4 people, 6 crops each, tiled in one image, as dlib's bald_guys.jpg) is grouped
    by person; a group photo (6 different people in one image, look-alikes among them) is six
    people."""
    if collage:
        people = ["intel_dark_hair", "intel_bald_man", "intel_glasses_woman", "headpose_man"]
        crops = montage_crops(people, 6)
        tiles = [crops[p][k] for k in range(6) for p in range(4)]  # a person per column
        person_of = [i % 4 for i in range(24)]
        cols = 4
    else:
        people = ["intel_dark_hair", "intel_bald_man", "intel_glasses_woman", "headpose_man",
                  "reception_white_dress", "hiker_blonde_woman"]
        tiles = [c[0] for c in montage_crops(people, 1)]
        person_of = list(range(6))
        cols = 3
    groups, found = _cluster_image(tmp_path, tiles, cols)
    assert found == len(tiles)  # every face found
    for g in groups:
        assert len({person_of[t] for t in g}) == 1, groups  # never two people in one group
    if collage:
        assert sorted(len(g) for g in groups) == [6, 6, 6, 6], groups  # as dlib's example: 4 groups of 6
    else:
        assert len(groups) == 6


def test_one_image_links_keep_a_pair_of_look_alikes_apart() -> None:
    """Two faces of one photo that are close (siblings) but no third like them: still two people."""
    d = np.full((5, 5), 0.75)
    np.fill_diagonal(d, 0.0)
    d[0, 1] = d[1, 0] = 0.35
    assert len(clustering.one_image_links(d, 0.5)) == 10
    d[0, 2] = d[2, 0] = d[1, 2] = d[2, 1] = 0.35  # a third: the same person three times, a collage
    assert clustering.one_image_links(d, 0.5) == []
