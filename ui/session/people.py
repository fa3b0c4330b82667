"""The app's commands on people: name, rename, merge, split, forget, delete, undo, enrol. Each runs
on the engine thread (see ui/session/session.py), which owns the tracker and the gallery, and returns a
Future. The session holds them as `session.people_commands`."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol, TypeVar

from tracker.engine.pipeline import Engine
from tracker.gallery.gallery import Gallery, Person, Sample
from tracker.gallery.transfer import import_people
from tracker.identity.corrections import Corrections, Rejected
from tracker.identity.suggest import Suggestion

from .feed import PeopleFeed

T = TypeVar("T")


class EngineThread(Protocol):
    """What the people commands need of the session: its engine thread and what it owns."""

    feed: PeopleFeed  # the people snapshot the window reads

    def submit(self, fn: Callable[[], T]) -> Future[T]: ...

    def current_engine(self) -> Engine: ...

    def current_gallery(self) -> Gallery: ...

    def error(self, message: str) -> None: ...

    def redecide_shown(self) -> None: ...


class PeopleCommands:
    """Commands on people, each run on the session's engine thread (see the module note)."""

    def __init__(self, session: EngineThread) -> None:
        self._session = session

    def _corrections(self) -> Corrections:
        """The tracker's corrections (on the engine thread)."""
        return self._session.current_engine().tracker.corrections

    def rename(self, old: str, new: str) -> Future[Person]:
        return self._session.submit(lambda: self._corrections().rename_person(old, new))

    def merge(self, source: str, into: str) -> Future[Person]:
        return self._session.submit(lambda: self._corrections().merge_people(source, into))

    def remove(self, name: str) -> Future[Person]:
        return self._session.submit(lambda: self._corrections().remove_person(name))

    def remove_people(self, names: list[str]) -> Future[list[Person]]:
        return self._session.submit(lambda: self._corrections().remove_people(names))

    def name_track(self, track_id: int, name: str) -> Future[Person]:
        return self._session.submit(lambda: self._corrections().name_track(track_id, name))

    def reject_track(self, track_id: int) -> Future[Rejected]:
        """"Not NAME": what that face's track taught the person is taken back, and it stays apart
        (one undo step)."""
        return self._session.submit(lambda: self._corrections().reject_track(track_id))

    def unnamed(self, faces: int = 3) -> Future[list[tuple[str, int, list[Any]]]]:
        """The automatic identities, most seen first: (name, stored faces, up to `faces` thumbnails)."""
        def do() -> list[tuple[str, int, list[Any]]]:
            gallery = self._session.current_gallery()
            autos = sorted((p for p in gallery.people() if not p.known), key=lambda p: -p.descriptors)
            return [(p.name, p.descriptors, gallery.thumbnails(p.id, faces)) for p in autos]
        return self._session.submit(do)

    def name_many(self, names: list[tuple[str, str]]) -> Future[list[str]]:
        """Several automatic identities named at once, one undo step: each renamed, or merged into
        the person of that name when there is one (the user says it is them). What was done, per one."""
        def do() -> list[str]:
            tracker = self._session.current_engine().tracker
            gallery = self._session.current_gallery()
            done: list[str] = []
            with gallery.action(f"name {len(names)} people"):
                for old, new in names:
                    if gallery.find(new) is not None and gallery.find(new) != gallery.find(old):
                        person = tracker.corrections.merge_people(old, new)
                        done.append(f"{old} merged into {person.name}")
                    else:
                        done.append(f"{old} is now {tracker.corrections.rename_person(old, new).name}")
            return done
        return self._session.submit(do)

    def keep_apart(self, a: str, b: str) -> Future[None]:
        """"Not the same person": a cannot-link between the two, so they are never suggested or
        merged again; one undo step."""
        def do() -> None:
            gallery = self._session.current_gallery()
            pa, pb = gallery.require(a), gallery.require(b)
            with gallery.action(f"keep {a} and {b} apart"):
                gallery.add_cannot_links([(pa.id, pb.id)])
        return self._session.submit(do)

    def export_gallery(self, dest: Path) -> Future[int]:
        """A backup of the whole gallery in one file (a gallery itself); how many people it holds."""
        def do() -> int:
            gallery = self._session.current_gallery()
            gallery.export_to(dest)
            return len(gallery.people())
        return self._session.submit(do)

    def import_gallery(self, source: Path) -> Future[list[tuple[str, str]]]:
        """The people of a backup (or another gallery file) added to this one; one undo step.
        Returns (name there, name here) per person."""
        def do() -> list[tuple[str, str]]:
            gallery = self._session.current_gallery()
            with Gallery(source, readonly=True) as other:
                if not other.stored:
                    raise FileNotFoundError(2, "no such gallery", str(source))
                if Gallery.identity_of(gallery.location) == other.identity():
                    raise ValueError("a gallery cannot be imported into itself")
                with gallery.action(f"import {source.name}"):
                    return import_people(gallery, other)
        return self._session.submit(do)

    def prune(self, days: float) -> Future[list[Person]]:
        """Automatic identities not seen for `days` removed (named and enrolled people stay); one undo step."""
        def do() -> list[Person]:
            gallery = self._session.current_gallery()
            with gallery.action(f"remove identities unseen for {days:g} days"):
                return gallery.forget_unseen(days)
        return self._session.submit(do)

    def samples(self, name: str) -> Future[list[Sample]]:
        """A person's stored samples with provenance and thumbnails (for their page)."""
        def do() -> list[Sample]:
            gallery = self._session.current_gallery()
            return gallery.samples(gallery.require(name).id)
        return self._session.submit(do)

    def split(self, name: str, sample_ids: list[int], into: str | None = None) -> Future[Person]:
        return self._session.submit(lambda: self._corrections().split_person(name, sample_ids, into))

    def forget(self, name: str, sample_ids: list[int]) -> Future[Person]:
        return self._session.submit(lambda: self._corrections().forget_samples(name, sample_ids))

    def set_cover(self, name: str, sample_id: int) -> Future[Person]:
        """The sample that stands for the person in lists; one undoable step like the others."""
        def do() -> Person:
            gallery = self._session.current_gallery()
            with gallery.action(f"thumbnail of {name}"):
                return gallery.set_cover(name, sample_id)
        return self._session.submit(do)

    def undo(self) -> Future[str | None]:
        """Revert the newest change to people (name, rename, merge, split, remove samples, "not",
        delete, enrol, thumbnail); its label, or None when there is nothing to undo."""
        def do() -> str | None:
            if self._corrections().can_undo() is None:
                return None
            label = self._corrections().undo()
            self._session.redecide_shown()
            return label
        return self._session.submit(do)

    def redo(self) -> Future[str | None]:
        """Make the newest undone change again (Ctrl+Shift+Z); its label, or None."""
        def do() -> str | None:
            if self._corrections().can_redo() is None:
                return None
            label = self._corrections().redo()
            self._session.redecide_shown()
            return label
        return self._session.submit(do)

    def can_redo(self) -> str | None:
        """The label of the change Redo would make again (from the snapshot, any thread)."""
        return self._session.feed.redo_label()

    def can_undo(self) -> str | None:
        """The label of the change Undo would revert (read from the snapshot, any thread)."""
        return self._session.feed.undo_label()

    def suggestions(self) -> list[Suggestion]:
        """Identities that are probably one person, from the newest people snapshot."""
        return self._session.feed.suggestions()

    def enroll(self, name: str, paths: list[Path], chosen: dict[Path, Any] | None = None,
               force: bool = False) -> Future[Any]:
        """Enrol photos; runs on the engine thread, which owns the models (dlib's nets are not
        thread-safe), so a long batch pauses the video briefly rather than racing it. Photos of
        several faces, or unlike the others, come back in the report with nothing enrolled
        (tracker.gallery.enroll's `ask`): the window asks, then calls again with `chosen` or `force`."""
        from tracker.gallery.enroll import enroll

        def do() -> Any:
            engine = self._session.current_engine()
            report = enroll(self._session.current_gallery(), name, paths, engine.embedder, detector=engine.detector,
                            ask=True, chosen=chosen, force=force)
            for message in report.skip_messages():
                self._session.error(message)
            return report
        return self._session.submit(do)
