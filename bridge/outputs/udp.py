"""What the UDP outputs (Live Link Face, VMC) share: a non-blocking socket to one receiver,
drops counted rather than raised, one warning when the receiver cannot be reached."""

from __future__ import annotations

import logging
import socket

log = logging.getLogger("facebridge.outputs")


class UdpOutput:
    kind = "udp"

    def __init__(self, host: str, port: int, avatar: str | None = None):
        self.address = (host, port)
        self.avatar = avatar
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)  # never stall the daemon's loop on a receiver
        self.sent = self.dropped = 0
        self._warned = False

    def describe(self) -> str:
        return f"{self.kind} {self.address[0]}:{self.address[1]}" + (f" ({self.avatar})" if self.avatar else "")

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendto(data, self.address)
            self.sent += 1
        except OSError as e:  # a full buffer, no route: this frame is lost, the next one may go
            self.dropped += 1
            if not self._warned:
                self._warned = True
                log.warning("%s: cannot send (%s); frames are dropped until it can", self.describe(), e.strerror or e)

    # ---- the rest of a daemon tap
    def video(self, frame) -> None:
        pass

    def stats(self, stats) -> None:
        pass

    def close(self) -> None:
        self.sock.close()
