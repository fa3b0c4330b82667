"""One exception type for everything a user can cause: the CLI prints its message as one line."""

from __future__ import annotations


class FacetrackError(Exception):
    """A problem with the user's input or environment, worded for the user."""


class SourceError(FacetrackError):
    """A source that cannot be opened or read."""


class ImageError(FacetrackError):
    """An image file that cannot be read or converted."""


class GalleryError(FacetrackError):
    """A gallery file that is missing, corrupt or not a facetrack gallery."""


class ModelError(FacetrackError):
    """dlib or its model weights are missing or unusable."""
