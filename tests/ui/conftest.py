"""Fixtures the app's tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.paths import LIN, LIN_NAME
from tracker.gallery.enroll import enroll
from tracker.gallery.gallery import Gallery


@pytest.fixture
def lin_gallery(gallery_path: Path) -> Path:
    """A gallery with Lin-Manuel Miranda enrolled from his portrait."""
    with Gallery(gallery_path) as g:
        enroll(g, LIN_NAME, [LIN])
    return gallery_path
