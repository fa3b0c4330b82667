"""The indexed k-NN (tracker/identity/knn.py) gives what the plain definition gives: for each query and
person, the mean of the k smallest distances to that person's stored samples, for the people
with some sample within the limit. Checked against that definition written out naively."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.identity import knn
from tracker.identity import policy as identity


def naive(q: np.ndarray, vectors: np.ndarray, labels: np.ndarray, k: int, limit: float):  # type: ignore[no-untyped-def]
    d = np.sqrt(((q[:, None, :].astype(np.float64) - vectors[None].astype(np.float64)) ** 2).sum(2))
    people = sorted({int(p) for p in labels[d.min(0) < limit]})
    out = np.zeros((len(q), len(people)))
    for j, p in enumerate(people):
        dp = np.sort(d[:, labels == p], axis=1)
        out[:, j] = dp[:, :k].mean(1)
    return np.array(people, np.int64), out, d


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**31), people=st.integers(1, 25), most=st.integers(1, 12), queries=st.integers(1, 8),
       k=st.integers(1, 5), limit=st.floats(0.2, 1.5), huge=st.booleans())
def test_indexed_knn_equals_the_definition(seed: int, people: int, most: int, queries: int, k: int, limit: float,
                                           huge: bool) -> None:
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, most + 1, people)
    if huge:  # one person with many enrolled photos: the per-person runs path
        counts[0] = 40 * (int(counts.sum()) + 300)
    ids = rng.permutation(np.arange(1, 3 * people + 1))[:people]  # ids neither dense nor ordered
    labels = np.repeat(ids, counts).astype(np.int64)
    perm = rng.permutation(len(labels))  # samples of one person not contiguous
    labels = labels[perm]
    centres = rng.normal(size=(people, 128)) * 0.06
    owner = {int(p): i for i, p in enumerate(ids)}
    vectors = (centres[[owner[int(p)] for p in labels]] + rng.normal(size=(len(labels), 128)) * 0.03).astype(
        np.float32)
    q = (centres[rng.integers(0, people, queries)] + rng.normal(size=(queries, 128)) * 0.03).astype(np.float32)
    want_p, want, d = naive(q, vectors, labels, k, limit)
    got_p, got = identity.person_distances(q, vectors, labels, k, limit)
    # Float32 against float64: a person whose nearest sample is within 1e-4 of the limit may go either way.
    edge = {int(p) for p in np.unique(labels) if abs(d[:, labels == p].min() - limit) < 1e-4}
    assert set(got_p.tolist()) - edge == set(want_p.tolist()) - edge
    assert list(got_p) == sorted(got_p)
    for j, p in enumerate(want_p):
        if p in got_p:
            np.testing.assert_allclose(got[:, list(got_p).index(p)], want[:, j], atol=2e-5)


def test_the_index_is_rebuilt_when_the_gallery_changes() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(20, 128)).astype(np.float32) * 0.1
    labels = np.repeat(np.arange(4), 5).astype(np.int64)
    first = knn.inventories(vectors, labels)
    assert knn.inventories(vectors, labels) is first  # same arrays: the same index
    merged = np.where(labels == 3, 2, labels)  # a merge makes new labels
    again = knn.inventories(vectors, merged)
    assert again is not first and again.people.tolist() == [0, 1, 2]
    q = vectors[15:16]
    pids, d = identity.person_distances(q, vectors, merged, 3, 10.0)
    assert pids.tolist() == [0, 1, 2] and d[0, 2] < d[0, 0]
    empty_p, empty_d = identity.person_distances(q, vectors[:0], labels[:0], 3, 1.0)
    assert len(empty_p) == 0 and empty_d.shape == (1, 0)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**31), ops=st.lists(st.sampled_from(["add", "add", "add", "delete", "relabel", "remove"]),
                                                 min_size=1, max_size=40),
       k=st.integers(1, 4), limit=st.floats(0.2, 1.5))
def test_the_gallery_table_changed_in_place_answers_as_if_built_afresh(seed: int, ops: list[str], k: int,
                                                                        limit: float) -> None:
    """Appends, deletions (the last row moves into the gap), relabels (merge, split) and removals
    of whole people, in any order: the table's own index answers exactly what the array
    function answers over a fresh copy of its vectors and labels."""
    from tracker.gallery.descriptor_table import DescriptorTable

    rng = np.random.default_rng(seed)
    table = DescriptorTable()
    centres = rng.normal(size=(8, 128)) * 0.06
    next_id = 1
    start = int(rng.integers(0, 30))
    if start:
        labels = rng.integers(1, 9, start).astype(np.int64)
        table.load((centres[labels - 1] + rng.normal(size=(start, 128)) * 0.03).astype(np.float32), labels,
                   np.arange(1, start + 1, dtype=np.int64), np.zeros(start, np.int8))
        next_id = start + 1
    for op in ops:
        n = table.n
        if op == "add" or n == 0:
            pid, m = int(rng.integers(1, 9)), int(rng.integers(1, 6))
            vec = (centres[pid - 1] + rng.normal(size=(m, 128)) * 0.03).astype(np.float32)
            table.append(vec, pid, list(range(next_id, next_id + m)), 2)
            next_id += m
        elif op == "delete":
            table.delete_rows(rng.choice(n, size=int(rng.integers(1, min(n, 4) + 1)), replace=False))
        elif op == "relabel":
            table.relabel(rng.choice(n, size=int(rng.integers(1, min(n, 5) + 1)), replace=False),
                          int(rng.integers(1, 12)))
        else:
            table.delete_rows(table.columns(int(table.labels[int(rng.integers(0, n))])))
        assert sorted(table.ids.tolist()) == sorted(set(table.ids.tolist()))
        for pid in np.unique(table.labels):
            assert sorted(table.columns(int(pid)).tolist()) == np.flatnonzero(table.labels == pid).tolist()
    q = (centres[rng.integers(0, 8, 3)] + rng.normal(size=(3, 128)) * 0.03).astype(np.float32)
    got_p, got = table.person_distances(q, k, limit)
    want_p, want = knn.person_distances(q, table.vectors.copy(), table.labels.copy(), k, limit)
    assert got_p.tolist() == want_p.tolist()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
