"""`facetrack people ...`: list, show, rename, merge, remove, split, forget, suggest, export,
import, prune."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import gallery_location
from ..errors import FacetrackError
from ..gallery.transfer import import_people
from ..paths import shown
from ..sinks.outputs import claim_folder, mark_folder, write_atomic
from .args import number, sample_id


def add_parser(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    people = sub.add_parser("people", help="list, show, rename, merge, split or remove people")
    psub = people.add_subparsers(dest="action", required=True)

    def action(name: str, helptext: str, *args: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = psub.add_parser(name, help=helptext)
        for a in args:
            p.add_argument(a)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        add_common(p)
        return p

    action("list", "list people")
    show = action("show", "a person's samples: ids, where each came from, thumbnails", "name")
    show.add_argument("--thumbs", type=Path, metavar="DIR", help="write each sample's thumbnail to DIR/ID.jpg")
    action("rename", "rename a person (naming an automatic identity makes it known)", "old", "new")
    action("merge", "merge FROM into INTO", "source", "into")
    action("remove", "remove a person and their descriptors", "name")
    split = action("split", "move some samples of a person to a new person (see `people show` for ids)", "name")
    split.add_argument("--samples", type=sample_id, nargs="+", required=True, metavar="ID")
    split.add_argument("--into", metavar="NEW", help="name of the new person (default: a new automatic identity)")
    forget = action("forget", "delete some samples of a person", "name")
    forget.add_argument("--samples", type=sample_id, nargs="+", required=True, metavar="ID")
    action("export", "a backup of the whole gallery in one file (a gallery itself)", "file")
    action("import", "add the people of a backup (or another gallery: a file or a postgresql:// URL) to this one",
           "file")
    prune = action("prune", "remove automatic identities not seen for a while")
    prune.add_argument("--days", type=number(0, 100_000, open_lo=True), metavar="DAYS",
                       help="not seen for this many days (default: the forget-unnamed-after setting)")
    suggest = action("suggest", "identities that are probably one person (merge candidates)")
    suggest.add_argument("--threshold", type=number(0, 2, open_lo=True),
                         help="inventory distance (default 0.55, or the match threshold if lower); a pair must "
                              "also be clearly closer to each other than to anyone else")


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def run(args: argparse.Namespace, cfg: Any) -> int:
    from ..gallery.gallery import Gallery
    from ..identity.suggest import SUGGEST_DISTANCE, suggest_merges

    if args.action in ("list", "show", "suggest"):
        with Gallery(cfg.gallery, readonly=True) as gallery:
            if args.action == "list":
                return _list(gallery, args.json, gallery.where)
            if args.action == "show":
                return _show(gallery, args)
            found = suggest_merges(gallery, args.threshold or min(cfg.threshold, SUGGEST_DISTANCE), cfg.knn)
        if args.json:
            _print_json([s.as_json() for s in found])
        elif not found:
            print("no suggestions: no two identities look like one person")
        else:
            for s in found:
                print(f"{s.describe()}\t`facetrack people merge {s.a.name!r} {s.b.name!r}`")
        return 0
    if args.action == "import":
        return _import(args, cfg)
    with Gallery(cfg.gallery) as gallery:  # opened as the change below will (an old schema migrated)
        if not gallery.stored:
            raise FacetrackError(f"gallery {gallery.where} does not exist")
    if args.action == "export":
        if not isinstance(gallery_location(args.file), Path):  # a URL (a mistyped one raises)
            raise FacetrackError("people export writes an SQLite file: give a file name (to copy into another "
                                 "database, `people import` this gallery there)")
        with Gallery(cfg.gallery) as gallery:
            gallery.export_to(Path(args.file))
        print(shown(f"wrote {args.file} ({len(gallery)} people)"))
        return 0
    if args.action == "prune":
        return _prune(args, cfg)
    with Gallery(cfg.gallery) as gallery:
        if args.action == "rename":
            p = gallery.rename(args.old, args.new)
            msg = f"renamed {args.old!r} to {p.name!r}"
        elif args.action == "merge":
            p = gallery.merge(args.source, args.into)
            msg = f"merged {args.source!r} into {p.name!r} ({p.descriptors} descriptors)"
        elif args.action == "split":
            p = gallery.split(args.name, args.samples, args.into)
            msg = f"moved {len(set(args.samples))} sample(s) of {args.name!r} to {p.name!r}"
        elif args.action == "forget":
            p = gallery.forget(args.name, args.samples)
            msg = f"deleted {len(set(args.samples))} sample(s) of {p.name!r}; {p.descriptors} left"
        else:
            p = gallery.remove(args.name)
            msg = f"removed {p.name!r}"
    if args.json:
        _print_json(p.as_json())
    else:
        print(msg)
    return 0


def _list(gallery: Any, as_json: bool, where: str) -> int:
    people = gallery.people()
    if as_json:
        _print_json([p.as_json() for p in people])
    elif not people:
        print(f"no people in {where}")
    else:
        for p in people:
            kind = "known" if p.known else "automatic"
            print(f"{shown(p.name)}\t{kind}\t{p.descriptors} descriptor(s)")  # one line, whatever a name holds
    return 0


def _show(gallery: Any, args: argparse.Namespace) -> int:
    person = gallery.require(args.name)
    samples = gallery.samples(person.id)
    if args.thumbs is not None:
        wanted = [s for s in samples if s.thumbnail]
        claim_folder(args.thumbs, [f"{s.id}.jpg" for s in wanted], "--thumbs")
        try:
            args.thumbs.mkdir(parents=True, exist_ok=True)
            mark_folder(args.thumbs, "sample thumbnails (ID.jpg)")
            for s in wanted:
                write_atomic(args.thumbs / f"{s.id}.jpg", s.thumbnail)
        except OSError as exc:
            raise FacetrackError(f"cannot write thumbnails to {args.thumbs}: {exc.strerror}") from None
    others = sorted(gallery.person(o).name for o in gallery.cannot_linked(person.id) if gallery.person(o))
    if args.json:
        _print_json({**person.as_json(), "not": others, "samples": [
            {**s.as_json(), **({"thumbnail": str(args.thumbs / f"{s.id}.jpg")} if args.thumbs and s.thumbnail
                               else {})} for s in samples]})
        return 0
    kind = "known" if person.known else "automatic"
    print(shown(f"{person.name} ({kind}), {len(samples)} sample(s)"))
    if others:
        print(f"not the same person as: {', '.join(others)}")
    for s in samples:
        print(f"  {s.id}\t{s.describe()}")
    return 0


def _import(args: argparse.Namespace, cfg: Any) -> int:
    from ..gallery.gallery import Gallery

    source = gallery_location(args.file)  # a backup file, or another gallery's file or URL
    if isinstance(source, Path) and not (source.exists() or source.is_symlink()):
        raise FacetrackError(f"{source}: no such file")
    with Gallery(source, readonly=True) as other:
        if not isinstance(source, Path) and not other.stored:
            raise FacetrackError(f"gallery {other.where} does not exist")
        # By identity, not by name: a hard link, a bind mount, localhost for 127.0.0.1; asked
        # before this gallery is opened for writing.
        if Gallery.identity_of(cfg.gallery) == other.identity():
            raise FacetrackError("a gallery cannot be imported into itself")
        with Gallery(cfg.gallery) as gallery:
            report = import_people(gallery, other)
    if args.json:
        _print_json([{"from": a, "as": b} for a, b in report])
    else:
        for a, b in report:
            print(shown(f"{a}" + (f" -> {b}" if a != b else "")))
        print(f"imported {len(report)} people into {gallery.where}")
    return 0


def _prune(args: argparse.Namespace, cfg: Any) -> int:
    from ..gallery.gallery import Gallery

    days = args.days if args.days is not None else cfg.forget_unnamed_after
    if days is None or days <= 0:
        raise FacetrackError("give --days DAYS (or set forget-unnamed-after in the config)")
    with Gallery(cfg.gallery) as gallery:
        gone = gallery.forget_unseen(days)
    if args.json:
        _print_json([p.as_json() for p in gone])
    else:
        print(f"removed {len(gone)} automatic identities not seen for {days:g} days"
              + (": " + ", ".join(p.name for p in gone) if gone else ""))
    return 0
