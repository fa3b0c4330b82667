"""The people of one gallery (a backup) brought into another, in one transaction."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .gallery import AUTO_NAME, Gallery
from .schema import Provenance
from .transaction import transaction


@transaction
def import_people(gallery: Gallery, other: Gallery) -> list[tuple[str, str]]:
    """Every person of `other` (a backup) with their samples, provenance and cannot-links, in
    one transaction. A real name already here gets the samples it lacks; an automatic name
    already taken becomes a new automatic identity (it is someone else's number here).
    Returns (name in `other`, name here) per person."""
    mapping: dict[int, int] = {}
    report: list[tuple[str, str]] = []
    owner = {v.tobytes(): int(pid) for v, pid in zip(gallery.vectors, gallery.labels)}
    for p in other.people():
        vectors = other.sample_vector_map(p.id)
        # Someone already imported (every sample of theirs is here, under one person) is
        # that person, whatever number they have now.
        owners = {owner.get(v.tobytes()) for v in vectors.values()}
        same = next(iter(owners)) if len(owners) == 1 and None not in owners else None
        here = gallery.person(same) if same is not None else gallery.find(p.name)
        if here is None:
            here = gallery.add_person(p.name, known=p.known)
        elif same is None and AUTO_NAME.match(p.name) and not p.known:
            here = gallery.add_person(None, known=False)
        mapping[p.id] = here.id
        report.append((p.name, here.name))
        have = {v.tobytes() for v in gallery.inventory(here.id)}
        groups: dict[str, list[tuple[NDArray[np.float32], bytes, Provenance]]] = {}
        for s in other.samples(p.id):
            v = vectors.get(s.id)
            if v is not None and v.tobytes() not in have:  # importing twice adds nothing
                groups.setdefault(s.origin, []).append((v, s.thumbnail, s.provenance))
        for origin, items in groups.items():
            gallery.add_descriptors(here.id, np.stack([v for v, _, _ in items]), [t for _, t, _ in items],
                                 origin, [pr for _, _, pr in items])
    gallery.add_cannot_links([(mapping[a], mapping[b]) for a, b in other.links() if a in mapping and b in mapping])
    return report
