"""Identity over time: who each track is, what it teaches the gallery, and the user's corrections.

The policy itself is pure (identity.py); this applies it to live tracks with the constraints
that video gives for free:
- must-link: every face of a track is one person, so a track is scored over its recent
  samples; a track whose new faces stop matching its old ones was swapped onto someone else
  and is split (the tracker starts a new track there);
- cannot-link: tracks seen in one frame are different people. A track never takes a person
  held by a track it was seen with, and two stable labels seen together are stored as a
  cannot-link between the people, which later merges and suggestions respect.
One person per face per frame holds by construction: a last pass repairs any collision
(logged as a warning), whatever sequence of votes, merges, renames or removals came before.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from ..gallery.gallery import LEARNED, Gallery, Provenance
from . import policy as identity
from .track_state import TrackIdentity, TrackSample

log = logging.getLogger(__name__)

WINDOW = 8  # a track is scored over its most recent samples
STABLE = 2  # samples a label must have held before the track teaches the gallery
SWAP_RUN = 2  # consecutive samples unlike the track's before it is split
CONTINUOUS_SWAP = 0.7  # swap distance for a track followed without a break since its last descriptor
SPREAD = 1.3  # a face further than this times the track's own spread from all its faces is odd
COASTING = 0.2  # distance handicap of a label held by a track the detector has lost


class IdentityResolver:
    def __init__(self, cfg: Config, gallery: Gallery) -> None:
        self.cfg = cfg
        self.gallery = gallery
        self.policy = identity.Policy(threshold=cfg.threshold, auto_join=cfg.auto_join, auto_found=cfg.auto_found,
                                      learn_known=cfg.learn_threshold, learn_auto=cfg.auto_learn,
                                      margin=cfg.margin, small_face=cfg.small_face)
        self.states: dict[int, TrackIdentity] = {}
        self.ended: dict[int, int] = {}  # track id -> its last person, for tracks that ended in this shot
        self.source = ""

    # ------------------------------------------------------------------ bookkeeping
    def state(self, track_id: int) -> TrackIdentity:
        return self.states.setdefault(track_id, TrackIdentity())

    def end(self, track_id: int) -> None:
        s = self.states.pop(track_id, None)
        if s is not None and s.person_id >= 0:
            self.ended[track_id] = s.person_id
        # An ended track matters only to live tracks it was seen with: a live stream without
        # cuts must not grow this without bound.
        seen = set().union(*(x.cooccur for x in self.states.values())) if self.states else set()
        self.ended = {t: p for t, p in self.ended.items() if t in seen}
        for x in self.states.values():
            x.cooccur &= set(self.ended) | set(self.states)

    def end_all(self) -> None:
        self.states.clear()
        self.ended.clear()

    def add_sample(self, track_id: int, sample: TrackSample) -> bool:
        """A new descriptor for a track; True if it no longer looks like the track's earlier faces
        (SWAP_RUN times running): the tracker then splits the track."""
        s = self.state(track_id)
        base = s.samples[:len(s.samples) - s.outliers]  # the track's faces before the odd ones
        if len(base) >= 2:
            prior = np.stack([x.descriptor for x in base[-WINDOW:]])
            d = identity.pairwise_distances(sample.descriptor[None], prior).min()
            # Beyond swap_distance, and beyond what this track's own faces vary by (small or
            # blurred faces vary more).
            # A face followed without a break cannot have been swapped for another, short of a
            # change of face altogether (CONTINUOUS_SWAP).
            floor = self.cfg.swap_distance if sample.disrupted or s.outliers else CONTINUOUS_SWAP
            odd = d > max(floor, SPREAD * identity.spread(prior)) and not self._still_its_person(s, sample)
            s.outliers = s.outliers + 1 if odd else 0
        s.samples.append(sample)
        s.fresh.append(sample)
        del s.samples[:-self.cfg.max_inventory]
        if s.outliers >= SWAP_RUN:
            return True
        if s.person_id >= 0:
            s.held_for += 1
        return False

    def _still_its_person(self, s: TrackIdentity, sample: TrackSample) -> bool:
        """A face unlike the track's recent ones (a turned head, new light) that still matches the
        track's person, and nobody clearly better (by the margin), is no swap."""
        person = self.gallery.person(s.person_id) if s.person_id >= 0 else None
        scored = self._own_and_others(sample.descriptor, person.id) if person is not None else None
        if person is None or scored is None:
            return False
        own, others = scored
        limit = self.policy.threshold if person.known else self.policy.auto_join
        return own <= limit and bool(np.all(others >= own - self.policy.margin))

    def _own_and_others(self, descriptor: NDArray[np.float32],
                        person_id: int) -> tuple[float, NDArray[np.float64]] | None:
        """One face's distance to `person_id` and to everyone else scored; None if that person is
        not within reach of it."""
        pids, per = self.gallery.person_distances(descriptor[None], self.cfg.knn, self.cfg.threshold + 0.15)
        if person_id not in set(pids.tolist()):
            return None
        return float(per[0][list(pids).index(person_id)]), per[0][pids != person_id]

    def split_off(self, old_id: int, new_id: int) -> None:
        """The newest samples of `old_id` belong to another face: they move to a new track."""
        old = self.state(old_id)
        moved = old.samples[-old.outliers:]
        del old.samples[-old.outliers:]
        old.fresh = [x for x in old.fresh if all(x is not m for m in moved)]
        log.info("track %d: its face changed (a swap); continuing as track %d", old_id, new_id)
        self.end(old_id)
        new = self.state(new_id)
        new.samples = list(moved)
        new.fresh = list(moved)
        new.cooccur = set(old.cooccur)

    # ------------------------------------------------------------------ deciding
    def _score(self, s: TrackIdentity, excluded: set[int]) -> list[identity.Candidate]:
        key = (self.gallery.version, len(s.samples))
        if s.scored != key:
            recent = np.stack([x.descriptor for x in s.samples[-WINDOW:]])
            pids, s.per_sample = self.gallery.person_distances(recent, self.cfg.knn, self.cfg.threshold + 0.15)
            s.pids = [int(p) for p in pids]
            s.scored = key
        keep = [j for j, p in enumerate(s.pids) if p not in excluded and self.gallery.person(p) is not None]
        if not keep:
            s.candidates = []
            return []
        per = s.per_sample[:, keep]
        w = np.array([x.weight for x in s.samples[-WINDOW:]])
        dist = identity.track_distances(per, w)
        support = identity.support(per, w)
        s.candidates = [identity.Candidate(s.pids[j], float(d), self.gallery.person(s.pids[j]).known,  # type: ignore[union-attr]
                                           float(f)) for j, d, f in zip(keep, dist, support)]
        return s.candidates

    def _excluded(self, track_id: int, s: TrackIdentity) -> set[int]:
        """People this track cannot be: those of tracks it was seen with, and its "Not X"s."""
        out = set(s.excluded)
        for other in s.cooccur:
            o = self.states.get(other)
            pid = o.person_id if o is not None else self.ended.get(other, -1)
            if pid >= 0:
                out.add(pid)
        return out

    def resolve(self, visible: list[int], detected: set[int], frame_index: int, frame_time: float,
                still: bool) -> None:
        """Decide every visible track's person for this frame, then learn from fresh samples.

        `detected`: the tracks the detector found in this frame; only they count as seen together
        (a coasting track may be a ghost of a face that moved on).
        """
        self._cooccur([t for t in visible if t in detected])
        links = self.gallery.links()
        proposals: dict[int, tuple[int, float]] = {}
        scored: dict[int, tuple[list[identity.Candidate], bool]] = {}
        faces: dict[int, identity.FaceChoice] = {}
        for tid in visible:
            s = self.state(tid)
            if not s.samples:
                continue
            if s.person_id >= 0 and self.gallery.person(s.person_id) is None:
                self.set_person(tid, s, -1)  # removed or merged away elsewhere
            excluded = self._excluded(tid, s)
            if s.person_id in excluded:
                self.set_person(tid, s, -1)
            cands = self._score(s, excluded)
            # One sample decides only a photo, or a very close match; else more are awaited, the
            # more the smaller the face (a 32 px face counts a quarter of a 64 px one).
            weights = [x.weight for x in s.samples[-WINDOW:]]
            enough = still or sum(weights) >= self.cfg.min_votes_new - 1e-9
            scored[tid] = (cands, enough)
            # A track keeps the identity it founded unless it may leave it (see _may_leave_founded).
            allowed = tuple(c for c in cands if c.person_id == s.person_id or self._may_leave_founded(s, c.person_id))
            faces[tid] = identity.FaceChoice(allowed, s.person_id, identity.for_faces(self.policy,
                                                                                      float(np.mean(weights))))
        # The frame's faces are decided together: a face too close to call between two people
        # is the one another face of the frame is not (identity.assign_faces).
        picks = dict(zip(faces, identity.assign_faces(list(faces.values()), links)))
        for tid, pick in picks.items():
            s = self.states[tid]
            cands, enough = scored[tid]
            if pick is not None and (enough or pick.distance <= self.policy.learn_known
                                     or pick.person_id == s.person_id):
                cost = pick.distance - (self.policy.sticky if pick.person_id == s.person_id else 0.0)
                proposals[tid] = (pick.person_id, cost)
            elif pick is None and identity.may_found(cands, len(s.samples), 1 if still else self.cfg.min_votes_new,
                                                      self.policy):
                proposals[tid] = (-2, 0.0)  # found a new automatic identity
            elif pick is None and s.person_id >= 0 and not any(c.person_id == s.person_id for c in cands):
                proposals[tid] = (-1, 0.0)  # its person is gone from the running
        # One person per face: the closest claim wins; the others wait for their next sample. A
        # label held by a face the detector has lost (coasting) is a weaker claim: it may be a
        # ghost left where two faces crossed.
        for tid in visible:
            held = self.states.get(tid)
            if held is not None and tid not in proposals and held.person_id >= 0:
                d = 0.0 if math.isnan(held.distance) else held.distance
                proposals[tid] = (held.person_id, d - self.policy.sticky + (0.0 if tid in detected else COASTING))
        taken: set[int] = set()
        for tid in sorted(proposals, key=lambda t: proposals[t][1]):
            pid, _ = proposals[tid]
            s = self.states[tid]
            if pid == -2:
                self._found(tid, s)
            elif pid >= 0 and pid in taken:
                self.set_person(tid, s, -1)
            else:
                self.set_person(tid, s, pid)
            if s.person_id >= 0:
                taken.add(s.person_id)
        self.repair(visible)
        for tid in visible:
            self._maybe_fold_founded(tid, self.states.get(tid))
            self._learn(tid, self.states.get(tid), frame_index, frame_time)

    def repair(self, visible: list[int]) -> None:
        """The last word: no two faces in view hold one person, whatever happened before."""
        tids = [t for t in visible if t in self.states]
        pids = [self.states[t].person_id for t in tids]
        costs = [-self.states[t].held_for + (0 if math.isnan(self.states[t].distance) else self.states[t].distance)
                 for t in tids]
        fixed = identity.one_person_per_face(pids, costs)
        for t, before, after in zip(tids, pids, fixed):
            if before != after:
                log.warning("track %d and another face both held person %d; track %d is undecided again",
                            t, before, t)
                self.set_person(t, self.states[t], -1)

    def _cooccur(self, visible: list[int]) -> None:
        for tid in visible:
            self.state(tid).cooccur.update(o for o in visible if o != tid)
        # Only labels that have stood a later sample (or that the track founded) make a lasting
        # link. An identity remembers everyone its tracks were seen beside, not only those
        # labelled in the same frame: a track named after its neighbour left is still not them.
        stable = {t: s.person_id for t, s in self.states.items()
                  if s.person_id >= 0 and (s.held_for >= 1 or s.founded == s.person_id)}
        pairs: set[tuple[int, int]] = set()
        for tid in visible:
            a = stable.get(tid)
            if a is None:
                continue
            for other in self.states[tid].cooccur:
                b = stable.get(other, self.ended.get(other, -1))
                if b >= 0 and b != a:
                    pairs.add((min(a, b), max(a, b)))
        if pairs:
            self.gallery.add_cannot_links(sorted(pairs))  # a no-op, without a write, once known

    def set_person(self, tid: int, s: TrackIdentity, pid: int) -> None:
        """Track `tid` (state `s`) shows person `pid` now (-1: nobody)."""
        if pid != s.person_id:
            old = s.person_id
            log.debug("track %d: person %d -> %d (%d samples; %s)", tid, old, pid, len(s.samples),
                      ", ".join(f"{c.person_id}:{c.distance:.2f}/{c.support:.2f}" for c in s.candidates))
            s.person_id, s.held_for = pid, 0
            if old >= 0 and pid >= 0 and old == s.founded:
                self._fold_fragment(tid, old, pid)
            if pid >= 0 and s.excluded:
                self.gallery.add_cannot_links([(pid, x) for x in s.excluded])
        s.distance = next((c.distance for c in s.candidates if c.person_id == pid), math.nan) if pid >= 0 else math.nan

    def _track_supports(self, s: TrackIdentity, pid: int) -> bool:
        """Must-link evidence: most of the track's recent faces, each on its own, are within
        `auto_join` of `pid` (at least three of them)."""
        recent = np.stack([x.descriptor for x in s.samples[-WINDOW:]])
        inv = self.gallery.inventory(pid)
        if len(inv) == 0:
            return False
        per = identity.nearest_mean(identity.pairwise_distances(recent, inv), self.cfg.knn)
        close = int((per <= self.policy.auto_join).sum())
        return close >= min(3, len(per)) and close * 2 >= len(per)

    def _may_leave_founded(self, s: TrackIdentity, pid: int) -> bool:
        """A track is one person, so it leaves the identity it founded for another automatic one
        only when the two can be folded into one (else it keeps its own: a split is cheap to
        repair, a lump is not). A known person may always take it (the fragment is suggested)."""
        target = self.gallery.person(pid)
        if s.founded < 0 or s.person_id != s.founded or target is None or target.known:
            return True
        return not self.gallery.are_cannot_linked(s.founded, pid) and self._track_supports(s, pid)

    def _maybe_fold_founded(self, tid: int, s: TrackIdentity | None) -> None:
        """A track showing the identity it founded whose own faces, most of them, are also within
        `auto_join` of an older automatic identity (never seen with it): by must-link the two are
        one person, e.g. a performer's close-ups and the wide shot before them."""
        if s is None or not s.fresh or s.founded < 0 or s.person_id != s.founded or s.outliers:
            return
        for c in sorted(s.candidates, key=lambda c: c.distance):
            if c.person_id == s.founded or c.known or c.distance > self.policy.auto_join:
                continue
            if not self.gallery.are_cannot_linked(c.person_id, s.founded) and self._track_supports(s, c.person_id):
                a, b = self.gallery.person(s.founded), self.gallery.person(c.person_id)
                if a is None or b is None:
                    return
                log.info("track %d: %s is %s (its faces are %.2f from it); merging", tid, a.name, b.name,
                         c.distance)
                self.merged(a.id, self.gallery.merge(a.name, b.name).id)
                s.distance = c.distance
                return

    def _fold_fragment(self, tid: int, founded: int, pid: int) -> None:
        """A track that founded an automatic identity turns out to be someone else already in the
        gallery. Into another automatic identity: merge when the track's own faces support it
        (must-link) or the inventories match as wholes. Into a known person: only when the
        inventories match as wholes, with a margin over everyone else; never on one track's say-so.
        Never across a cannot-link."""
        a, b = self.gallery.person(founded), self.gallery.person(pid)
        s = self.state(tid)
        s.founded = -1
        if a is None or b is None or a.known or self.gallery.are_cannot_linked(founded, pid):
            return
        inv = self.gallery.inventory(founded)
        d = identity.inventory_distance(inv, self.gallery.inventory(pid), self.cfg.knn)
        others = [identity.inventory_distance(inv, self.gallery.inventory(o.id), self.cfg.knn)
                  for o in self.gallery.people() if o.id not in (founded, pid)]
        wholes = d <= self.policy.auto_join and all(x >= d + self.policy.margin for x in others)
        if wholes or (not b.known and self._track_supports(s, pid)):
            log.info("track %d: %s is %s (inventories %.2f apart); merging", tid, a.name, b.name, d)
            self.merged(a.id, self.gallery.merge(a.name, b.name).id)

    def _found(self, tid: int, s: TrackIdentity) -> None:
        if s.founded >= 0 and s.person_id == s.founded:
            return
        p = self.gallery.add_person(None, known=False)
        log.info("track %d: new automatic identity %s", tid, p.name)
        log.debug("track %d (seen with %s, not %s): nearest people then: %s", tid, sorted(s.cooccur),
                  sorted(self._excluded(tid, s)),
                  ", ".join(f"{c.person_id}:{c.distance:.2f}" for c in s.candidates) or "none")
        recent = s.samples[-WINDOW:]
        s.learned += self.gallery.add_descriptors(
            p.id, np.stack([x.descriptor for x in recent]), [x.thumbnail for x in recent], LEARNED,
            [Provenance(self.source, tid, x.frame, x.time) for x in recent])
        s.fresh.clear()
        s.founded = p.id
        self.set_person(tid, s, p.id)
        s.distance = 0.0

    def _learn(self, tid: int, s: TrackIdentity | None, frame_index: int, frame_time: float) -> None:
        """Fresh samples of a track with a settled label may grow that person's inventory."""
        if s is None or not s.fresh:
            return
        fresh, s.fresh = s.fresh, []
        person = self.gallery.person(s.person_id) if s.person_id >= 0 else None
        if person is None or s.held_for < STABLE or s.outliers:
            return
        for x in fresh:
            scored = self._own_and_others(x.descriptor, person.id)
            if scored is None:
                continue
            own, others = scored
            # The identity this track founded is made of this track's faces (must-link): all of
            # them belong there. Anyone else learns only close, unambiguous faces.
            # A small face teaches only when it is closer still (its descriptor is noisier).
            policy = identity.for_faces(self.policy, x.weight)
            if s.founded == person.id or identity.may_learn(own, others, person.known, policy):
                new_id = self.gallery.learn(person.id, x.descriptor, x.thumbnail, self.cfg.diversity,
                                            self.cfg.max_inventory, Provenance(self.source, tid, x.frame, x.time))
                if new_id is not None:
                    s.learned.append(new_id)

    # ------------------------------------------------------------------ the user's corrections
    def merged(self, source_id: int, into_id: int) -> None:
        for s in self.states.values():
            if s.person_id == source_id:
                s.person_id = into_id
            if s.founded == source_id:
                s.founded = -1
            s.excluded = {into_id if x == source_id else x for x in s.excluded}
        self.ended = {t: into_id if p == source_id else p for t, p in self.ended.items()}

    def reset(self, tid: int) -> None:
        """Decide this track again from its samples (after an undo changed the gallery under it)."""
        s = self.state(tid)
        s.person_id, s.held_for, s.founded, s.distance = -1, 0, -1, math.nan
        s.learned.clear()

    def removed(self, person_id: int) -> None:
        for tid, s in self.states.items():
            if s.person_id == person_id or s.founded == person_id:
                self.set_person(tid, s, -1)
                s.founded = -1
                s.held_for = 0
        self.ended = {t: p for t, p in self.ended.items() if p != person_id}
