"""`--livelink`, `--vmc` and `--web` options -> the outputs they name (daemon taps).

A target is `HOST:PORT` or `AVATAR=HOST:PORT` (IPv6 hosts in brackets: `[::1]:11111`).
Everything is checked before anything starts, so a typo fails in one line, not after the
daemon has bound its sockets.
"""

from __future__ import annotations

import re
import socket

from bridge.errors import InputError

_TARGET = re.compile(r"^(?:(?P<avatar>[^=\s]{1,64})=)?(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\s\[\]=]+)):(?P<port>\d{1,5})$")


def parse_target(text: str, option: str, allow_avatar: bool = True, allow_zero: bool = False):
    """'[AVATAR=]HOST:PORT' -> (avatar or None, host, port). Raises InputError."""
    m = _TARGET.match(text.strip())
    example = {"--livelink": "127.0.0.1:11111", "--vmc": "127.0.0.1:39539", "--web": "127.0.0.1:8080"}.get(option, "127.0.0.1:9000")
    if not m or (m["avatar"] and not allow_avatar):
        form = "[AVATAR=]HOST:PORT" if allow_avatar else "HOST:PORT"
        raise InputError(f"{option} {text}", f"is not {form}", f"e.g. {option} {example}")
    host, port = m["v6"] or m["host"], int(m["port"])
    if not (0 if allow_zero else 1) <= port <= 65535:
        raise InputError(f"{option} {text}", f"port {port} is out of range", f"use 1..65535, e.g. {option} {example}")
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as e:
        raise InputError(f"{option} {text}", f"cannot resolve host {host!r} ({e.strerror if hasattr(e, 'strerror') else e})",
                         "use an IP address or a resolvable host name") from None
    return m["avatar"], host, port


def check_targets(livelink=(), vmc=(), web: str | None = None) -> None:
    """Parse every target now (before a camera or a file is opened); raises InputError."""
    for t in livelink or ():
        parse_target(t, "--livelink")
    for t in vmc or ():
        parse_target(t, "--vmc")
    if web:
        parse_target(web, "--web", allow_avatar=False, allow_zero=True)


def make_outputs(livelink=(), vmc=(), web: str | None = None, fps: float = 30.0) -> list:
    """The taps for the options given (each a list of targets; web one HOST:PORT or None)."""
    from bridge.outputs.livelink import LiveLinkSender
    from bridge.outputs.vmc import VmcSender

    parsed = [("livelink", parse_target(t, "--livelink")) for t in livelink or ()]
    parsed += [("vmc", parse_target(t, "--vmc")) for t in vmc or ()]
    web_at = parse_target(web, "--web", allow_avatar=False, allow_zero=True) if web else None
    taps = []
    for kind, (avatar, host, port) in parsed:
        taps.append(LiveLinkSender(host, port, avatar, fps=fps) if kind == "livelink" else VmcSender(host, port, avatar))
    if web_at is not None:
        from bridge.server.monitor import Monitor

        try:
            taps.append(Monitor(web_at[1], web_at[2]))
        except BaseException:
            for t in taps:
                t.close()
            raise
    return taps
