"""Browser sessions for the web pages: login cookie, CSRF token and Origin check (one ASGI middleware).

The API's guard (:class:`fijax.server.security.GuardMiddleware`) knows one credential, the token.
:class:`SessionMiddleware` sits outside it and turns a browser session into that credential:

* ``POST /ui/login`` with the token creates a session: a random id in an HTTP-only,
  ``SameSite=Strict`` cookie (the token itself never goes into the cookie or a page URL), and a
  random CSRF token that the pages carry in a ``<meta>`` tag and in hidden form fields;
* a request with a valid session cookie and no token of its own is handed on with the token
  header, so every API route (SSE, cancel, uploads, artifacts) serves the pages unchanged;
* a cookie-authenticated request that changes state (any method but GET/HEAD/OPTIONS) must come
  from this server's own origin (``Origin``, else ``Referer``, equal to the ``Host``) *and* carry
  the session's CSRF token in ``X-CSRF-Token`` (forms of the pages themselves — log in, log out —
  check their hidden field instead). ``SameSite=Strict`` alone is not enough: other ports of the
  same host name are the same *site*;
* the login page and the static files are served without a token (the guard's Host check still
  applies to them); any other page without a session redirects to the login page;
* a page opened as ``/?token=<token>`` (a URL one can paste) logs in and redirects at once to the
  same page without the token, so it does not stay in the address bar or the history.

Sessions live in the server process; they end at log-out, after ``ttl`` seconds without use, or
when the server stops (a new token is made at every start anyway).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: UI paths answered without a token (the guard still checks the Host header).
PUBLIC_PATHS = frozenset({"/ui/login"})
PUBLIC_PREFIX = "/ui/static/"
#: Forms of the pages that check their own hidden CSRF field (no JavaScript needed).
FORM_PATHS = frozenset({"/ui/login", "/ui/logout"})
#: Pages: without a session, a browser asking for them is sent to the login page.
PAGE_PREFIX = "/ui/"


@dataclass
class Session:
    """One logged-in browser."""

    sid: str
    csrf: str
    created: float
    last: float


class SessionStore:
    """Sessions of one server process, keyed by their random id.

    Parameters
    ----------
    token : str
        The server's token (what a login must present).
    cookie_name : str
        Name of the session cookie (carries the port: two servers on one host keep apart).
    ttl : float
        Seconds a session lives without being used.
    max_sessions : int
        The oldest sessions are dropped beyond this many.
    """

    def __init__(self, token: str, cookie_name: str = "fijax_session", ttl: float = 12 * 3600,
                 max_sessions: int = 256):
        self._token = token.encode()
        self.cookie_name = cookie_name
        self.ttl = float(ttl)
        self.max_sessions = int(max_sessions)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def token_ok(self, given: str | bytes | None) -> bool:
        """Constant-time comparison of ``given`` with the server's token."""
        if not given:
            return False
        if isinstance(given, str):
            given = given.strip().encode("utf-8", "replace")
        return hmac.compare_digest(given, self._token)

    def create(self) -> Session:
        now = time.time()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._sessions[session.sid] = session
            if len(self._sessions) > self.max_sessions:
                for sid, _ in sorted(self._sessions.items(), key=lambda kv: kv[1].last)[: -self.max_sessions]:
                    del self._sessions[sid]
        return session

    def get(self, sid: str | None) -> Session | None:
        """The live session ``sid`` (its idle clock restarts), or None."""
        if not sid:
            return None
        now = time.time()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if now - session.last > self.ttl:
                del self._sessions[sid]
                return None
            session.last = now
            return session

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)

    def cookie_header(self, session: Session | None, secure: bool = False) -> bytes:
        """``Set-Cookie`` value that sets (or, for None, clears) the session cookie."""
        attrs = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")
        if session is None:
            return f"{self.cookie_name}=; Max-Age=0{attrs}".encode()
        return f"{self.cookie_name}={session.sid}{attrs}".encode()


def header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def cookie_value(scope, name: str) -> str | None:
    raw = header(scope, b"cookie")
    if not raw:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # noqa: BLE001 - a malformed cookie header is simply no session
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def same_origin(scope) -> bool:
    """True when ``Origin`` (or, without it, ``Referer``) names the host this request was sent to."""
    host = header(scope, b"host").strip().lower()
    source = header(scope, b"origin") or header(scope, b"referer")
    if not host or not source or source == "null":
        return False
    try:
        parts = urlsplit(source)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host


def is_public(path: str, method: str) -> bool:
    if path in PUBLIC_PATHS:
        return method in ("GET", "HEAD", "POST")
    return path.startswith(PUBLIC_PREFIX) and method in ("GET", "HEAD")


def is_page(path: str) -> bool:
    return path == "/" or path.startswith(PAGE_PREFIX)


def is_artifact(path: str) -> bool:
    """A job's artifact download (files an operation or macro wrote, HTML included)."""
    return path.startswith("/jobs/") and "/artifacts/" in path


#: Artifacts opened in the browser (HTML reports) run in a sandbox: an opaque origin without scripts,
#: so a file a job wrote can never act with the viewer's session.
ARTIFACT_CSP = b"sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


def _sandboxed(send):
    async def wrapped(message):
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k != b"content-security-policy"]
            headers += [(b"content-security-policy", ARTIFACT_CSP), (b"x-content-type-options", b"nosniff")]
            message = dict(message, headers=headers)
        await send(message)

    return wrapped


def safe_next(value: str | None) -> str:
    """A redirect target after login: a path of this server's pages, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/ui/jobs"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not is_page(parts.path):
        return "/ui/jobs"
    return value


def _with_token(scope, token: bytes):
    headers = [(k, v) for k, v in scope.get("headers", []) if k != b"authorization"]
    headers.append((b"authorization", b"token " + token))
    return dict(scope, headers=headers)


async def _send_simple(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"",
                       content_type: bytes = b"text/plain; charset=utf-8") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), *headers]})
    await send({"type": "http.response.body", "body": body})


class SessionMiddleware:
    """Pure ASGI middleware placed outside the token guard (see the module docstring)."""

    def __init__(self, app, sessions: SessionStore, token: str, host_ok: Callable[[str], bool]):
        self.app = app
        self.sessions = sessions
        self.token = token.encode()
        self.host_ok = host_ok

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.host_ok(header(scope, b"host")):
            await self.app(scope, receive, send)  # a foreign Host: the guard refuses it (403)
            return
        path, method = scope["path"], scope["method"].upper()
        query = scope.get("query_string", b"").decode("latin-1")
        query_token = any(k == "token" for k, _ in parse_qsl(query, keep_blank_values=True))
        has_auth = bool(header(scope, b"authorization")) or query_token
        session = None if has_auth else self.sessions.get(cookie_value(scope, self.sessions.cookie_name))
        unsafe = method not in SAFE_METHODS
        if unsafe and (session is not None or is_public(path, method)) and not same_origin(scope):
            await _send_simple(send, 403, [], b"cross-origin request refused: the pages of this server only accept "
                                              b"forms and requests sent from its own origin")
            return
        if is_public(path, method):
            scope = dict(scope, **{"fijax.session": session})
            await self.app(scope if has_auth else _with_token(scope, self.token), receive, send)
            return
        if has_auth:
            if method == "GET" and is_page(path) and query_token:
                await self._login_from_url(scope, send, path, query)
                return
            await self.app(scope, receive, send)
            return
        if session is None:
            if method in ("GET", "HEAD") and is_page(path):
                target = path + (f"?{query}" if query else "")
                location = "/ui/login" + ("" if target in ("/", "/ui/jobs") else f"?next={quote(target, safe='')}")
                await _send_simple(send, 303, [(b"location", location.encode())])
                return
            await self.app(scope, receive, send)  # the guard answers 401
            return
        if unsafe and path not in FORM_PATHS and not hmac.compare_digest(
                header(scope, b"x-csrf-token").encode("latin-1"), session.csrf.encode()):
            await _send_simple(send, 403, [], b"missing or wrong CSRF token (X-CSRF-Token): reload the page")
            return
        scope = dict(_with_token(scope, self.token), **{"fijax.session": session})
        await self.app(scope, receive, _sandboxed(send) if is_artifact(path) else send)

    async def _login_from_url(self, scope, send, path: str, query: str) -> None:
        pairs = parse_qsl(query, keep_blank_values=True)
        given = next((v for k, v in pairs if k == "token"), "")
        if not self.sessions.token_ok(given):
            await _send_simple(send, 401, [], b"wrong token")
            return
        session = self.sessions.create()
        rest = urlencode([(k, v) for k, v in pairs if k != "token"])
        location = (path if path != "/" else "/ui/jobs") + (f"?{rest}" if rest else "")
        await _send_simple(send, 303, [(b"location", location.encode()), (b"referrer-policy", b"no-referrer"),
                                       (b"set-cookie", self.sessions.cookie_header(
                                           session, scope.get("scheme") == "https"))])
