"""facebridge: face image + speech -> per-frame facial motion for game engines."""

__version__ = "0.1.0"
