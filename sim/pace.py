"""The clock's pace, as ``--speed`` and ``--sim-speed`` take it: simulated seconds per wall second.

Kept apart from the pytest plugin so the command line can parse it without importing pytest-bdd
before pytest does (pytest then could not rewrite its asserts).
"""

from __future__ import annotations

import argparse
import math


def speed(raw: str) -> float:
    """A pace greater than 0 and finite; an argparse type."""
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected simulated seconds per wall second, got {raw!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a number greater than 0, got {raw!r}")
    return value
