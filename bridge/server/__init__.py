"""The daemon (`facebridge serve`): sessions per avatar, control over ROUTER, frames over PUB."""

from bridge.server.daemon import DEFAULT_CONTROL, DEFAULT_DATA, Daemon, run

__all__ = ["DEFAULT_CONTROL", "DEFAULT_DATA", "Daemon", "run"]
