"""Security of the clinician workspace, in one place: one ASGI middleware and the session secret.

`SecurityMiddleware` wraps the whole app (inside Starlette's SessionMiddleware, which signs the
session cookie with itsdangerous) and, for every request:

- refuses (403) a `Host` that is not the server's own: a DNS-rebinding page reaches the server
  under the attacker's name, which is not in the allowed set;
- refuses (403) a state-changing request (POST, PUT, PATCH, DELETE) whose `Origin` (or, without
  one, `Referer`) is another site, or `null` (sandboxed frames, data: URLs);
- refuses (403) a state-changing browser request without the session's CSRF token (form field
  `csrf_token` or header `X-CSRF-Token`, compared in constant time); the JSON API (``/api/``)
  takes no token but only `application/json` (415 otherwise), which no page of another site can
  send without a CORS preflight this server never grants;
- requires a logged-in session (or HTTP Basic credentials on ``/api/``) when login is required;
- adds the headers: a strict Content-Security-Policy (no inline script; a page may allow its own
  inline style blocks by their hash, see `allow_styles`), `X-Content-Type-Options: nosniff`,
  `Referrer-Policy: same-origin`, `X-Frame-Options: DENY`, `Cache-Control: no-store` on
  everything but the static files (`same-origin` rather than `no-referrer`: under `no-referrer`
  browsers send `Origin: null` on a page's own form posts, and the origin check could not tell
  them from a sandboxed attacker frame);
- logs one line per request: method, route template (``/clients/{client_id}``, never the id)
  and status. Nothing else: no path, no query, no body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("psyscore.web")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = b"x-csrf-token"
MAX_FORM_BYTES = 1_000_000  # a form or an API visit is a few answers; more is refused (413)
SECRET_FILE = "session.key"
PUBLIC_PREFIXES = ("/static/", "/login", "/healthz")
STYLE_HASHES_KEY = "psyscore.style_hashes"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'{styles}; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def style_hash(css: str) -> str:
    """The CSP source that allows one inline `<style>` block with exactly this content."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def allow_styles(request, blocks: Iterable[str]) -> None:
    """Let this response's CSP allow these inline style blocks (the embedded intake report)."""
    request.scope.setdefault(STYLE_HASHES_KEY, []).extend(style_hash(b) for b in blocks)


def csrf_token(request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def current_user(request) -> str | None:
    return request.scope.get("psyscore.user")


def load_or_create_secret(folder: Path) -> bytes:
    """The session-signing secret kept in `folder` (created once, mode 0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_FILE
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    secret = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secret)
    return secret


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class SecurityMiddleware:
    """See the module docstring. `app.state` must hold `store`, `require_login`."""

    def __init__(
        self,
        app,
        *,
        allowed_hosts: Iterable[str],
        require_login: bool,
        store,
        route_template,
        local_user: str = "local",
    ) -> None:
        self.app = app
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.require_login = require_login
        self.store = store
        self.route_template = route_template
        self.local_user = local_user

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_seen: list[int] = []

        async def send_logged(message):
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
                message["headers"] = list(message.get("headers", [])) + self._headers(scope)
            await send(message)

        try:
            await self._guarded(scope, receive, send_logged)
        finally:
            log.info(
                "%s %s %s %.0fms",
                scope["method"],
                self.route_template(scope),
                status_seen[0] if status_seen else "-",
                (time.perf_counter() - started) * 1000,
            )

    # -- the checks -------------------------------------------------------------------------

    async def _guarded(self, scope, receive, send):
        path = scope["path"]
        host = (_header(scope, b"host") or "").lower()
        if host not in self.allowed_hosts:
            await _refuse(send, 403, "This server does not answer to that host name.")
            return
        method = scope["method"]
        api = path.startswith("/api/")
        if method not in SAFE_METHODS and not self._same_origin(scope, host, api):
            await _refuse(send, 403, "Cross-site request refused.")
            return
        user = await self._user(scope)
        public = path.startswith(PUBLIC_PREFIXES) or path == "/healthz"
        if user is None and not public:
            if api:
                await _refuse(
                    send,
                    401,
                    "Log in: send HTTP Basic credentials of a psyscore account.",
                    [(b"www-authenticate", b'Basic realm="psyscore"')],
                )
            elif method in SAFE_METHODS:
                await _redirect(send, "/login")
            else:
                await _refuse(send, 403, "Log in first.")
            return
        scope["psyscore.user"] = user
        if method in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if api:
            ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if ctype != "application/json":
                await _refuse(send, 415, "The API accepts only application/json.")
                return
        body = await _read_body(receive)
        if body is None:
            await _refuse(send, 413, "Request too large.")
            return
        if not api and not self._csrf_ok(scope, body):
            await _refuse(send, 403, "Missing or wrong form token: reload the page and try again.")
            return
        await self.app(scope, _replay(body, receive), send)

    def _same_origin(self, scope, host: str, api: bool) -> bool:
        origin = _header(scope, b"origin")
        if origin is None:
            referer = _header(scope, b"referer")
            if referer is None:
                # not sent by a browser (curl, another system): the token / content type and
                # the session cookie (SameSite=Strict) still guard it
                return True
            origin = referer
        if origin == "null":
            return False
        parts = urlsplit(origin)
        scheme = scope.get("scheme", "http")
        return parts.scheme == scheme and (parts.netloc or "").lower() == host

    async def _user(self, scope) -> str | None:
        session = scope.get("session") or {}
        name = session.get("user")
        if name:
            return name
        if scope["path"].startswith("/api/") and self.require_login:
            return await self._basic_user(scope)
        if not self.require_login:
            return self.local_user
        return None

    async def _basic_user(self, scope) -> str | None:
        from starlette.concurrency import run_in_threadpool

        auth = _header(scope, b"authorization") or ""
        kind, _, encoded = auth.partition(" ")
        if kind.lower() != "basic":
            return None
        try:
            name, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        ok = await run_in_threadpool(self.store.verify_user, name, password)
        return name if ok else None

    def _csrf_ok(self, scope, body: bytes) -> bool:
        expected = (scope.get("session") or {}).get("csrf")
        if not expected:
            return False
        given = _header(scope, CSRF_HEADER)
        if given is None:
            ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if ctype == "application/x-www-form-urlencoded":
                values = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD, [])
                given = values[0] if values else None
        if given is None:
            return False
        return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))

    def _headers(self, scope) -> list[tuple[bytes, bytes]]:
        styles = "".join(" " + h for h in scope.get(STYLE_HASHES_KEY, []))
        headers = [
            (b"content-security-policy", CSP.format(styles=styles).encode("ascii")),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if not scope["path"].startswith("/static/"):
            headers.append((b"cache-control", b"no-store"))
        return headers


async def _read_body(receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, original):
    """A `receive` that gives the body read already, then waits for the real disconnect."""
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive


async def _refuse(send, status: int, text: str, extra: list | None = None) -> None:
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect(send, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode()), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
