"""`facetrack people ...`: list, show, rename, merge, remove, split, forget, suggest."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import FacetrackError


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
    split.add_argument("--samples", type=int, nargs="+", required=True, metavar="ID")
    split.add_argument("--into", metavar="NEW", help="name of the new person (default: a new automatic identity)")
    forget = action("forget", "delete some samples of a person", "name")
    forget.add_argument("--samples", type=int, nargs="+", required=True, metavar="ID")
    suggest = action("suggest", "identities that are probably one person (merge candidates)")
    suggest.add_argument("--threshold", type=float, help="inventory distance (default: the match threshold)")


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def run(args: argparse.Namespace, cfg: Any) -> int:
    from .gallery import Gallery
    from .repair import suggest_merges

    if args.action in ("list", "show", "suggest"):
        with Gallery(cfg.gallery, readonly=True) as gallery:
            if args.action == "list":
                return _list(gallery, args.json, cfg.gallery)
            if args.action == "show":
                return _show(gallery, args)
            found = suggest_merges(gallery, args.threshold or cfg.threshold, cfg.knn)
        if args.json:
            _print_json([s.as_json() for s in found])
        elif not found:
            print("no suggestions: no two identities look like one person")
        else:
            for s in found:
                print(f"{s.describe()}\t`facetrack people merge {s.a.name!r} {s.b.name!r}`")
        return 0
    if not cfg.gallery.exists():
        raise FacetrackError(f"gallery {cfg.gallery} does not exist")
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


def _list(gallery: Any, as_json: bool, path: Path) -> int:
    people = gallery.people()
    if as_json:
        _print_json([p.as_json() for p in people])
    elif not people:
        print(f"no people in {path}")
    else:
        for p in people:
            kind = "known" if p.known else "automatic"
            print(f"{p.name}\t{kind}\t{p.descriptors} descriptor(s)")
    return 0


def _show(gallery: Any, args: argparse.Namespace) -> int:
    person = gallery.require(args.name)
    samples = gallery.samples(person.id)
    if args.thumbs is not None:
        try:
            args.thumbs.mkdir(parents=True, exist_ok=True)
            for s in samples:
                if s.thumbnail:
                    (args.thumbs / f"{s.id}.jpg").write_bytes(s.thumbnail)
        except OSError as exc:
            raise FacetrackError(f"cannot write thumbnails to {args.thumbs}: {exc.strerror}") from None
    others = sorted(gallery.person(o).name for o in gallery.cannot_linked(person.id) if gallery.person(o))
    if args.json:
        _print_json({**person.as_json(), "not": others, "samples": [
            {**s.as_json(), **({"thumbnail": str(args.thumbs / f"{s.id}.jpg")} if args.thumbs and s.thumbnail
                               else {})} for s in samples]})
        return 0
    kind = "known" if person.known else "automatic"
    print(f"{person.name} ({kind}), {len(samples)} sample(s)")
    if others:
        print(f"not the same person as: {', '.join(others)}")
    for s in samples:
        print(f"  {s.id}\t{s.describe()}")
    return 0
