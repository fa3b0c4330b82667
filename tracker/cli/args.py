"""Command-line arguments that are checked as they are read: every number finite and in range
(nan, inf and integers past what SQLite holds are refused with one line), and a usage error is
one line naming the command's --help, never argparse's usage block."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn

MAX_ID = 2**63 - 1  # SQLite's largest integer: sample and person ids live there


class Parser(argparse.ArgumentParser):
    """argparse, with one-line errors: `facetrack: error: MESSAGE (see facetrack run --help)`."""

    def error(self, message: str) -> NoReturn:
        print(f"facetrack: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def number(lo: float, hi: float, *, whole: bool = False, open_lo: bool = False,
           zero: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in [lo, hi] ((lo, hi] with open_lo); 0 also when `zero`."""

    def parse(text: str) -> float:
        try:
            value: float = int(text) if whole else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if whole else 'a number'}") from None
        if zero and value == 0:
            return value
        below = value <= lo if open_lo else value < lo
        if not math.isfinite(value) or below or value > hi:
            shown = (f"{int(lo)}", f"{int(hi)}") if whole else (f"{lo:g}", f"{hi:g}")
            span = f"{'over' if open_lo else 'from'} {shown[0]} {'up ' if open_lo else ''}to {shown[1]}"
            kind = "a whole number" if whole else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} must be {'0 or ' if zero else ''}{kind} {span}")
        return value

    parse.__name__ = "whole number" if whole else "number"  # argparse names the type in its messages
    return parse


sample_id = number(1, MAX_ID, whole=True)
