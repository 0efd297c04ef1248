"""Security baseline of the HTTP server: token, Host check, upload size cap (one ASGI middleware).

Follows Jupyter server's practice (see the project notes on interop, §4): a random token
of 24 bytes from :mod:`secrets`, sent as ``Authorization: token <t>`` (or ``Bearer <t>``, or
``?token=`` for clients that cannot set headers such as ``EventSource``), compared in constant
time; requests whose ``Host`` is not an allowed name get 403 (defends against DNS
rebinding: a page in the user's browser cannot reach a loopback server under a foreign name);
bodies larger than the cap get 413 before they are read.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qs

from fijax.io.atomic import atomic_path

#: Paths served without a token (liveness probes).
PUBLIC_PATHS = frozenset({"/health"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# A DNS name or an IPv4 literal: labels of letters, digits, '-' and '_' (no '@', '/', spaces...).
_HOSTNAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$")


class UploadTooLarge(Exception):
    """The request body grew beyond the configured maximum while it was being read."""

    def __init__(self, limit: int):
        super().__init__(f"request body larger than the server's limit of {limit} bytes")
        self.limit = limit


def new_token() -> str:
    """48 hexadecimal characters (24 random bytes)."""
    return secrets.token_hex(24)


def write_token_file(path: str | os.PathLike, token: str, url: str) -> Path:
    """Write ``{"url", "token"}`` readable by the owner only (mode 0600), atomically.

    A file holding only the token (first line) is what ``--token-file`` consumers expect, so
    the token is the first line and the JSON with the URL follows on the second.
    """
    path = Path(path)
    with atomic_path(path, mode=0o600) as tmp:
        os.chmod(tmp, 0o600)
        tmp.write_text(f"{token}\n{json.dumps({'url': url, 'token': token})}\n")
    os.chmod(path, 0o600)
    return path


def read_token_file(path: str | os.PathLike) -> tuple[str, str | None]:
    """Return ``(token, url or None)`` from a file written by :func:`write_token_file` or by hand."""
    lines = Path(path).read_text().splitlines()
    token = lines[0].strip() if lines else ""
    url = None
    if len(lines) > 1:
        try:
            url = json.loads(lines[1]).get("url")
        except (ValueError, AttributeError):
            url = None
    return token, url


def host_name(header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8000`` → ``::1``, ``a.b:80`` → ``a.b``).

    Returns ``""`` for anything that is not a plain host name or IP literal with an optional
    numeric port (``127.0.0.1@evil.com``, ``a b``, ``[::1]x``): such a header is never allowed.
    """
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        if end < 0:
            return ""
        host, rest = header[1:end], header[end + 1:]
        if rest and not re.fullmatch(r":\d{1,5}", rest):
            return ""
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            return ""
    if header.count(":") > 1:  # a bare IPv6 literal (no port possible without brackets)
        try:
            return str(ipaddress.IPv6Address(header))
        except ValueError:
            return ""
    host, _, port = header.partition(":")
    if (port and not port.isdigit()) or not _HOSTNAME.match(host):
        return ""
    return host.rstrip(".")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback IP literal (``127.0.0.0/8``, ``::1``).

    Names are not resolved and nothing is matched by prefix: ``127.0.0.1.evil.com`` is a
    foreign name (an attacker's DNS can point it at 127.0.0.1: DNS rebinding).
    """
    host = host.strip().lower().strip("[]").rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _reply(send, status: int, message: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Pure ASGI middleware: Host check, token check and request-size cap on every HTTP request.

    Parameters
    ----------
    app : ASGI app
    token : str
        The secret every request except :data:`PUBLIC_PATHS` must carry.
    allowed_hosts : iterable of str
        Host names accepted besides loopback names; ``"*"`` accepts any.
    max_body : int
        Largest request body in bytes.
    """

    def __init__(self, app, token: str, allowed_hosts: Iterable[str] = (), max_body: int = 1 << 30):
        self.app = app
        self.token = token.encode()
        self.allowed = {h if h == "*" else (host_name(h) or h.lower().strip("[]")) for h in allowed_hosts}
        self.max_body = int(max_body)

    def host_ok(self, header: str) -> bool:
        if "*" in self.allowed:
            return True
        host = host_name(header)
        return bool(host) and (is_loopback(host) or host in self.allowed)

    def token_ok(self, scope) -> bool:
        given = b""
        for key, value in scope.get("headers", []):
            if key == b"authorization":
                scheme, _, rest = value.partition(b" ")
                if scheme.lower() in (b"token", b"bearer"):
                    given = rest.strip()
                break
        if not given and scope.get("query_string"):
            values = parse_qs(scope["query_string"].decode("latin-1")).get("token")
            given = values[0].encode() if values else b""
        return bool(given) and hmac.compare_digest(given, self.token)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if not self.host_ok(headers.get(b"host", b"").decode("latin-1")):
            await _reply(send, 403, "Host header not allowed: this server only answers requests addressed to "
                                    "localhost or to the names given with --allow-host")
            return
        if scope["path"] not in PUBLIC_PATHS and not self.token_ok(scope):
            await _reply(send, 401, "missing or wrong token: send 'Authorization: token <token>' (the token is "
                                    "printed by 'fijax serve' and written to its token file)",
                         [(b"www-authenticate", b"token")])
            return
        length = headers.get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                await _reply(send, 400, "malformed Content-Length header")
                return
            if n > self.max_body:
                await _reply(send, 413, f"request body of {n} bytes exceeds the server's limit of "
                                        f"{self.max_body} bytes")
                return
        received = 0

        async def guarded_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise UploadTooLarge(self.max_body)
            return message

        await self.app(scope, guarded_receive, send)
