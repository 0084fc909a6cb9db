"""CURVE encryption and authentication for LAN use (ZeroMQ's CurveZMQ, pyzmq's authenticator).

    facebridge keys --out KEYS        # KEYS/server.key(_secret), KEYS/clients/client.key(_secret)
    facebridge serve --control tcp://0.0.0.0:5555 --data tcp://0.0.0.0:5556 --curve-keys KEYS
    python -m bridge.client speak … --curve-keys KEYS

The daemon accepts only clients whose public key is in KEYS/clients/ (copy a client's
`.key` there to admit it; give each client its `_secret` file and the server's `.key`).
A client without an admitted key gets no connection at all: no replies, no frames.
"""

from __future__ import annotations

import os

from bridge.errors import InputError


def create_keys(folder: str) -> dict[str, str]:
    import zmq.auth

    clients = os.path.join(folder, "clients")
    os.makedirs(clients, exist_ok=True)
    if os.path.exists(os.path.join(folder, "server.key_secret")):
        raise InputError(f"keys {folder}", "already holds server keys", "pick a new folder, or delete the old keys")
    zmq.auth.create_certificates(folder, "server")
    zmq.auth.create_certificates(clients, "client")
    os.chmod(os.path.join(folder, "server.key_secret"), 0o600)
    os.chmod(os.path.join(clients, "client.key_secret"), 0o600)
    return {"server_public": os.path.join(folder, "server.key"),
            "client_secret": os.path.join(clients, "client.key_secret")}


def _load(path: str, secret: bool):
    import zmq.auth

    if not os.path.isfile(path):
        raise InputError(f"key file {path}", "not found", "create keys with `facebridge keys --out DIR`")
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (ValueError, OSError) as e:
        raise InputError(f"key file {path}", f"cannot be read ({e})", "create keys with `facebridge keys --out DIR`") from None
    if secret and not secret_key:
        raise InputError(f"key file {path}", "holds no secret key", "pass the *.key_secret file")
    return public, secret_key


class ServerCurve:
    """Makes the daemon's sockets CURVE servers and admits only the keys in KEYS/clients."""

    def __init__(self, ctx, folder: str):
        from zmq.auth.thread import ThreadAuthenticator

        self.public, self.secret = _load(os.path.join(folder, "server.key_secret"), secret=True)
        clients = os.path.join(folder, "clients")
        if not os.path.isdir(clients) or not any(f.endswith(".key") for f in os.listdir(clients)):
            raise InputError(f"keys {folder}", "has no client public keys in clients/",
                             "create keys with `facebridge keys --out DIR`")
        self.auth = ThreadAuthenticator(ctx)
        self.auth.start()
        self.auth.configure_curve(domain="*", location=clients)

    def apply(self, socket) -> None:
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_server = True

    def stop(self) -> None:
        self.auth.stop()


def client_curve(socket, folder: str) -> None:
    """Make a client socket a CURVE client with KEYS/clients/client.key_secret and KEYS/server.key."""
    public, secret = _load(os.path.join(folder, "clients", "client.key_secret"), secret=True)
    server_public, _ = _load(os.path.join(folder, "server.key"), secret=False)
    socket.curve_secretkey = secret
    socket.curve_publickey = public
    socket.curve_serverkey = server_public
