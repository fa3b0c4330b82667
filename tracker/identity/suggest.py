"""Repair tools over a gallery: which identities are probably one person, and enrolment merges.

The tracker keeps automatic identities apart unless the evidence is strong (a split is cheap
to repair, a lump is not); these functions find the splits for the user to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..gallery.gallery import Gallery, Person
from . import policy as identity


@dataclass(frozen=True)
class Suggestion:
    """`a` and `b` are probably one person: their inventories are `distance` apart as wholes."""

    a: Person
    b: Person
    distance: float

    def describe(self) -> str:
        return f"{self.a.name} may be {self.b.name} (distance {self.distance:.2f})"

    def as_json(self) -> dict[str, object]:
        return {"a": self.a.name, "b": self.b.name, "distance": round(self.distance, 4)}


# Suggested merges must be trusted: on the labelled montage (empty gallery, live) the closest
# different-person pairs never seen together are 0.54 and 0.59 apart as wholes, each within
# 0.02 of a third person; the demo's performer (a wide shot and close-ups, one man) is 0.53 from
# himself and 0.27 clear of everyone else. So a pair is suggested under SUGGEST_DISTANCE and only
# with a clear margin over every other person either of them is near.
SUGGEST_DISTANCE = 0.55
SUGGEST_MARGIN = 0.04


def suggest_merges(gallery: Gallery, threshold: float = SUGGEST_DISTANCE, k: int = 3, limit: int = 50,
                   margin: float = SUGGEST_MARGIN) -> list[Suggestion]:
    """Pairs of people who are probably one person, closest first.

    A pair qualifies when their inventories as wholes are within `threshold`, closer to each
    other by `margin` than either is to anyone else, and they have no cannot-link (never seen
    together, never split apart, never said to be two people). Two enrolled people qualify too
    (one man enrolled twice, as "Biden" and "Joe Biden"). Only people with some sample pair
    within reach are compared as wholes.
    """
    people = [p for p in gallery.people() if p.descriptors > 0]
    vectors, labels = gallery.vectors, gallery.labels
    inventories = {p.id: vectors[labels == p.id] for p in people}
    near: dict[int, set[int]] = {}  # person -> people with a sample within threshold + margin
    for p in people:
        close = identity.pairwise_distances(inventories[p.id], vectors).min(0) < threshold + margin
        near[p.id] = set(np.unique(labels[close]).tolist()) - {p.id}
    memo: dict[tuple[int, int], float] = {}

    def dist(a: int, b: int) -> float:
        key = (a, b) if a < b else (b, a)
        if key not in memo:
            memo[key] = identity.inventory_distance(inventories[a], inventories[b], k)
        return memo[key]

    out: list[Suggestion] = []
    for i, a in enumerate(people):
        for b in people[i + 1:]:
            if b.id not in near[a.id] or gallery.are_cannot_linked(a.id, b.id):
                continue
            d = dist(a.id, b.id)
            if d >= threshold:
                continue
            # Anyone farther than d + margin by their nearest samples is farther as a whole too.
            rivals = (near[a.id] | near[b.id]) - {a.id, b.id}
            if any(dist(x, o) < d + margin for x in (a.id, b.id) for o in rivals if o in inventories):
                continue
            # The automatic one goes into the known one, the smaller into the larger.
            first, second = (b, a) if (a.known, a.descriptors) > (b.known, b.descriptors) else (a, b)
            out.append(Suggestion(first, second, d))
    out.sort(key=lambda s: s.distance)
    return out[:limit]


def matching_automatic(gallery: Gallery, person: Person, threshold: float, margin: float,
                       k: int = 3) -> list[tuple[Person, float]]:
    """Automatic identities that are `person` (e.g. just enrolled): their inventories match as
    wholes within `threshold`, closer to `person` than to anyone else by `margin`, no cannot-link."""
    inv = gallery.inventory(person.id)
    found: list[tuple[Person, float]] = []
    for auto in gallery.people():
        if auto.known or auto.id == person.id or gallery.are_cannot_linked(auto.id, person.id):
            continue
        inv_auto = gallery.inventory(auto.id)
        d = identity.inventory_distance(inv_auto, inv, k)
        if d > threshold:
            continue
        others = [identity.inventory_distance(inv_auto, gallery.inventory(o.id), k)
                  for o in gallery.people() if o.known and o.id not in (auto.id, person.id)]
        if all(x >= d + margin for x in others):
            found.append((auto, d))
    return sorted(found, key=lambda x: x[1])


def fold_automatic(gallery: Gallery, person: Person, threshold: float, margin: float, merge: bool = True,
                   k: int = 3) -> tuple[Person, list[tuple[str, float]]]:
    """After enrolling `person`: the automatic identities that are them (see `matching_automatic`)
    are merged in (or only reported, with `merge` False). Returns the person and [(name, distance)]."""
    found = [(auto.name, d) for auto, d in matching_automatic(gallery, person, threshold, margin, k)]
    if merge:
        for name, _ in found:
            person = gallery.merge(name, person.name)
    return person, found
