"""Repair tools over a gallery: which identities are probably one person, and enrolment merges.

The tracker keeps automatic identities apart unless the evidence is strong (a split is cheap
to repair, a lump is not); these functions find the splits for the user to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import identity
from .gallery import Gallery, Person


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


def suggest_merges(gallery: Gallery, threshold: float, k: int = 3, limit: int = 50) -> list[Suggestion]:
    """Pairs of people who are probably one person, closest first.

    A pair qualifies when their inventories as wholes are within `threshold`, they have no
    cannot-link (never seen together, never split apart), and they are not both enrolled.
    Only people with some sample pair within the threshold are compared as wholes.
    """
    people = [p for p in gallery.people() if p.descriptors > 0]
    vectors, labels = gallery.vectors, gallery.labels
    out: list[Suggestion] = []
    for i, a in enumerate(people):
        inv_a = vectors[labels == a.id]
        near = identity.pairwise_distances(inv_a, vectors).min(0) < threshold
        close = set(np.unique(labels[near]).tolist())
        for b in people[i + 1:]:
            if b.id not in close or (a.known and b.known) or gallery.are_cannot_linked(a.id, b.id):
                continue
            d = identity.inventory_distance(inv_a, vectors[labels == b.id], k)
            if d < threshold:
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
