"""facetrack's engine: sources -> detect/embed -> track -> sinks. Never imports Qt."""

__version__ = "0.1.0"
