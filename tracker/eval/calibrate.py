"""`facetrack calibrate`: how well the gallery's own people are told apart, and which distance
threshold keeps false accepts at a target rate.

FaceNet's definitions (Schroff et al. 2015), over pairs of stored descriptors: VAL(d) is the share
of same-person pairs within distance d, FAR(d) the share of different-person pairs within d (both
with <=, the convention the tracker matches with). Only people with 2 or more descriptors take
part, in both kinds of pairs: someone with a single descriptor gives no same-person pair, and
counting their different-person pairs would weigh the two kinds of evidence from different people.

Small galleries are exact (every distance, scikit-learn's ROC over them). Large ones (48 samples of
2,000 people is 4.6 billion pairs) are counted in blocks into a histogram of 0.0005-wide bins, so
memory stays bounded; the counts stay exact, the thresholds are then known to within one bin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import FacetrackError, GalleryError

DLIB_THRESHOLD = 0.6  # dlib's suggested match distance, shown for comparison
BIN = 0.0005  # histogram bin width, and the grid recommended thresholds are rounded to
HIST_MAX = 2.0  # distances beyond this share one overflow bin (dlib descriptors rarely exceed 1.5)
EXACT_MAX_PAIRS = 2_000_000  # above this many pairs, count into a histogram (~100 MB peak below it)
BLOCK = 1024  # descriptors per side of one block of distances (8 MB of float64)
# A recommended threshold stays this far below the next distance that would raise FAR, so a
# distance recomputed in float32 (the tracker's) cannot land on the accepting side.
SAFETY = 1e-6


@dataclass(frozen=True)
class Point:
    """The counts at one threshold: pairs with distance <= threshold, of each kind."""

    threshold: float
    same_within: int
    different_within: int
    same_pairs: int
    different_pairs: int

    @property
    def val(self) -> float:
        return self.same_within / self.same_pairs if self.same_pairs else math.nan

    @property
    def far(self) -> float:
        return self.different_within / self.different_pairs if self.different_pairs else math.nan

    @property
    def accuracy(self) -> float:
        """Pairs decided right: same-person pairs within the threshold, different-person pairs beyond."""
        right = self.same_within + self.different_pairs - self.different_within
        return right / (self.same_pairs + self.different_pairs)

    def as_json(self) -> dict[str, object]:
        return {"threshold": self.threshold, "val": self.val, "far": self.far, "accuracy": self.accuracy,
                "same_within": self.same_within, "different_within": self.different_within}


@dataclass(frozen=True)
class PairCurve:
    """VAL and FAR as step functions of d: `same_within[k]` same-person and `different_within[k]`
    different-person pairs have distance <= `distances[k]`; the counts hold until the next entry.
    `distances` ascends from 0.0."""

    distances: NDArray[np.float64]
    same_within: NDArray[np.int64]
    different_within: NDArray[np.int64]
    same_pairs: int
    different_pairs: int
    exact: bool

    def _index(self, d: NDArray[np.float64]) -> NDArray[np.intp]:
        return np.searchsorted(self.distances, d, side="right") - 1

    def at(self, d: float) -> Point:
        k = int(self._index(np.asarray([d], np.float64))[0])
        same, diff = (0, 0) if k < 0 else (int(self.same_within[k]), int(self.different_within[k]))
        return Point(float(d), same, diff, self.same_pairs, self.different_pairs)

    def rates(self, d: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(VAL, FAR) at each of the distances `d` (for drawing)."""
        k = self._index(np.asarray(d, np.float64))
        same = np.where(k >= 0, self.same_within[np.maximum(k, 0)], 0)
        diff = np.where(k >= 0, self.different_within[np.maximum(k, 0)], 0)
        return same / max(self.same_pairs, 1), diff / max(self.different_pairs, 1)


@dataclass(frozen=True)
class Calibration:
    curve: PairCurve
    target_far: float
    recommended: Point
    reliable: bool
    note: str | None
    people: int  # people whose descriptors were used (2 or more each)
    descriptors: int
    left_out: int  # people with a single descriptor

    def as_json(self) -> dict[str, object]:
        rec = self.recommended
        return {"same_pairs": self.curve.same_pairs, "different_pairs": self.curve.different_pairs,
                "threshold": rec.threshold, "val": rec.val, "far": rec.far, "accuracy": rec.accuracy,
                "target_far": self.target_far, "reliable": self.reliable, "note": self.note,
                "same_within": rec.same_within, "different_within": rec.different_within,
                "people": self.people, "descriptors": self.descriptors, "left_out_people": self.left_out,
                "method": "exact" if self.curve.exact else f"histogram ({BIN:g} bins)",
                "dlib_default": self.curve.at(DLIB_THRESHOLD).as_json()}


def pair_counts(sizes: NDArray[np.int64]) -> tuple[int, int]:
    """(same-person pairs, different-person pairs) among people with these numbers of descriptors:
    n(n-1)/2 within each person, n_i * n_j across each two people. Python ints: no overflow."""
    n = [int(s) for s in sizes]
    total = sum(n)
    same = sum(k * (k - 1) // 2 for k in n)
    return same, (total * total - sum(k * k for k in n)) // 2


def _start_at_zero(curve: PairCurve) -> PairCurve:
    """Below the smallest distance nothing is accepted: an explicit entry at d = 0 keeps
    `at(0.0)` and the recommendation's fallback well defined."""
    if len(curve.distances) and curve.distances[0] <= 0.0:
        return curve
    return PairCurve(np.concatenate([[0.0], curve.distances]), np.concatenate([[0], curve.same_within]),
                     np.concatenate([[0], curve.different_within]), curve.same_pairs, curve.different_pairs,
                     curve.exact)


def exact_curve(vectors: NDArray[np.floating], labels: NDArray[np.integer]) -> PairCurve:
    """Every pair's distance, VAL and FAR at each distinct distance."""
    from scipy.spatial.distance import pdist
    from sklearn.metrics import roc_curve

    v = np.asarray(vectors, np.float64)
    lab = np.asarray(labels, np.int64)
    # pdist takes differences (no |a|^2 + |b|^2 - 2ab cancellation): hand-made distances stay exact.
    d = pdist(v)
    i, j = np.triu_indices(len(lab), 1)  # pdist's order
    same = lab[i] == lab[j]
    del i, j
    sizes = np.unique(lab, return_counts=True)[1]
    n_same, n_diff = pair_counts(sizes)
    # Score = -distance, so "score >= t" is "distance <= -t". roc_curve groups equal scores into
    # one threshold (ties counted together, as <= wants); drop_intermediate=False keeps every one,
    # or collinear points (whole runs of thresholds) would vanish from the curve.
    fpr, tpr, thresholds = roc_curve(same, -d, drop_intermediate=False)
    # Rates back to counts: rint undoes the division exactly for any realistic pair count.
    curve = PairCurve(-thresholds[1:], np.rint(tpr[1:] * n_same).astype(np.int64),
                      np.rint(fpr[1:] * n_diff).astype(np.int64), n_same, n_diff, exact=True)
    return _start_at_zero(curve)


def histogram_curve(vectors: NDArray[np.floating], labels: NDArray[np.integer], *, bin_width: float = BIN,
                    max_distance: float = HIST_MAX, block: int = BLOCK) -> PairCurve:
    """Every pair counted into bins, block by block: memory O(block^2), not O(pairs).

    Bin k holds (k-1)w < d <= kw, so the count up to bin k is exactly "within kw"."""
    order = np.argsort(labels, kind="stable")
    # Sorted by person, same-person pairs only occur in blocks whose label ranges overlap.
    v = np.asarray(vectors, np.float64)[order]
    lab = np.asarray(labels, np.int64)[order]
    sq = np.einsum("ij,ij->i", v, v)
    nbins = round(max_distance / bin_width) + 2  # the last one: beyond max_distance
    all_hist = np.zeros(nbins, np.int64)
    same_hist = np.zeros(nbins, np.int64)
    n = len(v)
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        for j0 in range(i0, n, block):
            j1 = min(j0 + block, n)
            d = sq[i0:i1, None] + sq[None, j0:j1]
            d -= 2.0 * (v[i0:i1] @ v[j0:j1].T)
            np.maximum(d, 0.0, out=d)
            np.sqrt(d, out=d)
            d /= bin_width
            d -= 1e-9  # a distance that is k bins up to rounding belongs to bin k (<=), not k+1
            np.ceil(d, out=d)
            np.clip(d, 0, nbins - 1, out=d)
            idx = d.astype(np.intp)
            same = lab[i0:i1, None] == lab[None, j0:j1] if lab[i1 - 1] >= lab[j0] else None
            if i0 == j0:  # a diagonal block: each pair once, no descriptor with itself
                upper = np.triu(np.ones(idx.shape, bool), 1)
                if same is not None:
                    same &= upper
                all_hist += np.bincount(idx[upper], minlength=nbins)
            else:
                all_hist += np.bincount(idx.ravel(), minlength=nbins)
            if same is not None:
                same_hist += np.bincount(idx[same], minlength=nbins)
    sizes = np.unique(lab, return_counts=True)[1]
    n_same, n_diff = pair_counts(sizes)
    same_cum = np.cumsum(same_hist)
    diff_cum = np.cumsum(all_hist - same_hist)
    assert same_cum[-1] == n_same and diff_cum[-1] == n_diff, "pairs lost in the histogram"
    grid = np.arange(nbins - 1, dtype=np.float64) * bin_width
    # The overflow bin has no distance of its own: it only completes the totals.
    return PairCurve(np.round(grid, 10), same_cum[:-1], diff_cum[:-1], n_same, n_diff, exact=False)


def pair_curve(vectors: NDArray[np.floating], labels: NDArray[np.integer], *,
               exact_max_pairs: int = EXACT_MAX_PAIRS) -> PairCurve:
    n = len(labels)
    if n * (n - 1) // 2 <= exact_max_pairs:
        return exact_curve(vectors, labels)
    return histogram_curve(vectors, labels)


def _round_threshold(curve: PairCurve, k: int) -> float:
    """A threshold with entry k's counts, as large and as round as possible.

    Any d from distances[k] up to (not including) the next distance gives the same VAL and FAR.
    Exact curves: the largest multiple of 0.0005 (or else of a finer power of ten) in there,
    SAFETY clear of both ends, so that distances recomputed elsewhere (float32, another formula)
    are still on the side they were counted on. Histogram curves: the bin edge itself, since
    pairs in the next bin may lie anywhere in it."""
    low = float(curve.distances[k])
    if not curve.exact or k + 1 >= len(curve.distances):
        return low
    high = float(curve.distances[k + 1])
    for step, decimals in ((BIN, 4), (1e-4, 4), (1e-5, 5), (1e-6, 6), (1e-7, 7)):
        grid = round(math.floor((high - SAFETY) / step) * step, decimals)
        if low + SAFETY <= grid <= high - SAFETY:
            at = curve.at(grid)
            # Rounding may never change what the threshold accepts.
            if (at.same_within, at.different_within) == (curve.same_within[k], curve.different_within[k]):
                return grid
    return (low + high) / 2  # two distances within float32 noise: no side is safe, take the middle


def recommend(curve: PairCurve, target_far: float) -> tuple[Point, bool, str | None]:
    """The largest threshold whose FAR is at most `target_far`; (point, reliable, note).

    Not reliable when there are too few different-person pairs for that FAR to be measured
    (fewer than 1/target: FAR <= target then only means "none accepted"), or when even d = 0
    accepts different-person pairs (identical descriptors under two people)."""
    m = curve.different_pairs
    far = curve.different_within / m
    k = int(np.searchsorted(far, target_far, side="right")) - 1  # FAR only grows with d
    if k < 0:
        point = curve.at(0.0)
        return point, False, (f"{point.different_within} different-person pair(s) have identical descriptors, "
                              f"so no threshold reaches FAR {target_far:g}; look for a person enrolled twice "
                              f"under two names (`facetrack people suggest`)")
    point = curve.at(_round_threshold(curve, k))
    if m * target_far < 1:
        need = math.ceil(1 / target_far)
        return point, False, (f"too few pairs to tell: measuring a FAR of {target_far:g} takes at least {need} "
                              f"different-person pairs and this gallery has {m}; this threshold accepts "
                              f"{point.different_within} of them, but its real FAR is unknown. Enrol more people "
                              f"(or more photos of each), or ask for a larger --target-far")
    return point, True, None


def calibrate(vectors: NDArray[np.floating], labels: NDArray[np.integer], target_far: float, *,
              exact_max_pairs: int = EXACT_MAX_PAIRS) -> Calibration:
    """VAL/FAR over the pairs of people with 2 or more descriptors, and the recommended threshold."""
    if not (isinstance(target_far, float | int) and 0.0 < target_far < 1.0):
        raise FacetrackError(f"--target-far must be above 0 and below 1, got {target_far}")
    lab = np.asarray(labels, np.int64)
    ids, sizes = np.unique(lab, return_counts=True)
    keep_ids = ids[sizes >= 2]
    if len(keep_ids) < 2:
        raise FacetrackError(f"calibration needs at least 2 people with 2 or more descriptors each (for "
                             f"same-person and different-person pairs); this gallery has {len(keep_ids)}: "
                             f"enrol several photos of each of several people")
    keep = np.isin(lab, keep_ids)
    curve = pair_curve(np.asarray(vectors)[keep], lab[keep], exact_max_pairs=exact_max_pairs)
    point, reliable, note = recommend(curve, float(target_far))
    return Calibration(curve, float(target_far), point, reliable, note, len(keep_ids), int(keep.sum()),
                       int((sizes < 2).sum()))


def load_descriptors(location: Path | str) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """The gallery's stored descriptors and their person ids, read without changing it."""
    from ..gallery.gallery import Gallery

    with Gallery(location, readonly=True) as gallery:
        if not gallery.stored:
            # Gallery() reads a missing gallery as an empty one: say what is wrong instead.
            raise GalleryError(f"gallery {gallery.where} does not exist; enrol people first "
                               f"(`facetrack enroll NAME PHOTO...`)")
        return gallery.vectors.copy(), gallery.labels.copy()
