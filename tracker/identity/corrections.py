"""The user's corrections to who is who: "Who is this?", "Not NAME", rename, merge, delete,
split, forget samples, and undo/redo of them all. Each is one step of the gallery's undo log,
applied to the gallery and to the identity state of the tracks in view (resolver.py) together;
"Not NAME" of a face that taught nothing changes only the latter, and is undone here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import GalleryError
from ..gallery.gallery import NAMED, Gallery, Person, Provenance
from .resolver import STABLE, WINDOW, IdentityResolver
from .track_state import TrackIdentity


@dataclass(frozen=True)
class Rejected:
    """What "Not NAME" did: the person, and how many samples the face's track had taught them
    that were taken back."""

    person: Person
    taken: int


@dataclass(frozen=True)
class _Step:
    """A user's step as the tracker keeps it: `position` is the gallery's undo depth just after
    it; `stored` says whether the gallery holds it as a step of its own; `inverse` reverts what
    the tracker changed in memory."""

    label: str
    position: int
    stored: bool
    inverse: Any


class Corrections:
    def __init__(self, gallery: Gallery, identities: IdentityResolver, in_view: Callable[[], list[int]]) -> None:
        self.gallery = gallery
        self.identities = identities
        self._in_view = in_view  # the ids of the tracks in view now
        self._steps: list[_Step] = []  # what undo must also revert in the tracks (see reject_track)

    def _track_state(self, track_id: int) -> TrackIdentity:
        if track_id not in self._in_view():
            raise GalleryError("that face is no longer in view")
        return self.identities.state(track_id)

    def name_track(self, track_id: int, name: str) -> Person:
        """"Who is this?": the face on this track is `name`, a new or an existing person.

        The track's recent descriptors join that person's inventory as named samples, so the
        name sticks when the face comes back. An automatic identity the track showed is renamed
        (when the name is new) or merged into the named person: the user vouched for it.
        """
        s = self._track_state(track_id)
        name = name.strip()
        if not name:
            raise GalleryError("a person's name cannot be empty")
        if not s.samples:
            raise GalleryError("that face has no descriptor yet (too small or just appeared); try again")
        with self.gallery.action(f"name a face {name}"):
            target = self.gallery.find(name)
            current = self.gallery.person(s.person_id) if s.person_id >= 0 else None
            if current is not None and not current.known and (target is None or target.id == current.id):
                person = self.gallery.rename(current.name, name)
            else:
                if target is None:
                    target = self.gallery.add_person(name, known=True)
                elif not target.known:
                    target = self.gallery.rename(target.name, target.name)  # naming makes it known
                if current is not None and not current.known and current.id != target.id:
                    self.merge_people(current.name, target.name)
                person = target
            self._name_track(track_id, person)
        return self.gallery.person(person.id) or person

    def reject_track(self, track_id: int) -> Rejected:
        """"Not NAME": this face is not who it shows; what its track taught that person is taken
        back, and the track stays apart from them. One undo step, whether or not the gallery
        changed (a face that taught nothing changes only what the tracker thinks)."""
        s = self._track_state(track_id)
        current = self.gallery.person(s.person_id) if s.person_id >= 0 else None
        if current is None:
            raise GalleryError("that face has no name to reject")
        label = f"not {current.name}"
        before = self.gallery.undo_steps()
        with self.gallery.action(label):
            outcome = self._reject(track_id)
        taken = outcome[1] if outcome is not None else 0
        stored = self.gallery.undo_steps() > before or (taken > 0 and self.gallery.can_undo() == label)
        self._steps.append(_Step(label, self.gallery.undo_steps(), stored,
                                 lambda: self._unreject(track_id, current.id)))
        return Rejected(current, taken)

    def merge_people(self, source: str, into: str) -> Person:
        """Merge in the gallery; tracks showing `source` show `into`, and if both were in view
        one of them is undecided again (one person per face)."""
        with self.gallery.action(f"merge {source} into {into}"):
            src = self.gallery.require(source)
            person = self.gallery.merge(source, into)
        self.identities.merged(src.id, person.id)
        self.identities.repair(sorted(self._in_view()))
        return person

    def rename_person(self, old: str, new: str) -> Person:
        with self.gallery.action(f"rename {old} to {new}"):
            return self.gallery.rename(old, new)

    def remove_person(self, name: str) -> Person:
        """Forget a person; a face of theirs still in view starts again as undecided."""
        with self.gallery.action(f"delete {name}"):
            person = self.gallery.remove(name)
        self.identities.removed(person.id)
        return person

    def remove_people(self, names: list[str]) -> list[Person]:
        """Forget several people as one step (one Undo brings them all back)."""
        with self.gallery.action(f"delete {', '.join(names)}"):
            people = [self.remove_person(name) for name in names]
        return people

    def split_person(self, name: str, sample_ids: list[int], into: str | None = None) -> Person:
        with self.gallery.action(f"split {name}"):
            person = self.gallery.split(name, sample_ids, into)
        return person

    def forget_samples(self, name: str, sample_ids: list[int]) -> Person:
        with self.gallery.action(f"remove samples of {name}"):
            person = self.gallery.forget(name, sample_ids)
        return person

    def can_redo(self) -> str | None:
        """The label of the undone step `redo` would make again (the gallery's)."""
        return self.gallery.can_redo()

    def redo(self) -> str:
        """Make the newest undone change to people again; faces in view are decided again. (A
        "Not NAME" that changed only the tracker is not redone: say it again.)"""
        label = self.gallery.redo()
        for tid in self._in_view():
            self.identities.reset(tid)
        return label

    def can_undo(self) -> str | None:
        """The label of the step `undo` would revert: the gallery's newest, or a step of the
        tracker's own ("Not NAME" of a face that taught nothing) made after it."""
        top = self._steps[-1] if self._steps else None
        if top is not None and not top.stored and top.position >= self.gallery.undo_steps():
            return top.label
        return self.gallery.can_undo()

    def undo(self) -> str:
        """Revert the newest user action (the gallery's, and what the tracker keeps of it); faces
        in view are decided again."""
        steps = self.gallery.undo_steps()
        top = self._steps[-1] if self._steps else None
        if top is not None and not top.stored and top.position >= steps:
            self._steps.pop()
            label = top.label
            top.inverse()
        else:
            label = self.gallery.undo()
            if top is not None and top.stored and top.position == steps:  # that step was this one
                self._steps.pop()
                top.inverse()
        self._steps = [x for x in self._steps if x.position <= self.gallery.undo_steps() or not x.stored]
        for tid in self._in_view():
            self.identities.reset(tid)
        return label

    # ------------------------------------------------------------------ on the tracks' identity state
    def _name_track(self, tid: int, person: Person) -> None:
        """The user says track `tid` is `person`: its recent samples join them as named samples."""
        s = self.identities.state(tid)
        recent = s.samples[-WINDOW:]
        s.excluded.discard(person.id)
        self.gallery.add_descriptors(person.id, np.stack([x.descriptor for x in recent]),
                                     [x.thumbnail for x in recent], NAMED,
                                     [Provenance(self.identities.source, tid, x.frame, x.time) for x in recent])
        self.gallery.prune(person.id, self.identities.cfg.max_inventory)
        for other, o in self.identities.states.items():
            if other != tid and o.person_id == person.id:
                self.identities.set_person(other, o, -1)
        s.founded = -1
        self.identities.set_person(tid, s, person.id)
        s.held_for, s.distance, s.fresh = STABLE, 0.0, []

    def _reject(self, tid: int) -> tuple[Person, int] | None:
        """"Not X": the track's learned samples leave X, and the track never becomes X again
        (until `unreject`). Returns X and how many samples were taken back."""
        s = self.identities.state(tid)
        person = self.gallery.person(s.person_id) if s.person_id >= 0 else None
        if person is None:
            return None
        mine = {sm.id for sm in self.gallery.samples(person.id)} & set(s.learned)
        if mine:
            self.gallery.forget(person.name, sorted(mine))
        s.excluded.add(person.id)
        s.founded = -1 if s.founded == person.id else s.founded
        self.identities.set_person(tid, s, -1)
        if not person.known and (p := self.gallery.person(person.id)) is not None and p.descriptors == 0:
            self.gallery.remove(p.name)  # an automatic identity made of this track alone
        return person, len(mine)

    def _unreject(self, tid: int, person_id: int) -> None:
        """Undo of "Not X": the track may be X again. An automatic identity it founded since,
        made of its own faces alone (it was only "not X" because the user said so), goes back
        into X, so the face shows X again as it did before."""
        s = self.identities.states.get(tid)
        if s is None:
            return
        s.excluded.discard(person_id)
        target = self.gallery.person(person_id)
        own = self.gallery.person(s.founded) if s.founded >= 0 else None
        if target is None or own is None or own.known or own.id == person_id:
            return
        if all(sm.provenance.track == tid for sm in self.gallery.samples(own.id)):
            self.identities.merged(own.id, self.gallery.merge(own.name, target.name).id)
