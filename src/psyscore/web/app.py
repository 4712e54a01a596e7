"""The clinician workspace web app (`psyscore serve`): a Starlette application factory.

`create_app(store, require_login=...)` wires the pages (`routes_pages`), the JSON API (`api`),
the static files and the security middleware (`security`: host and origin checks, CSRF, login,
headers, request log without paths). Routes stay thin: scoring is `visits.score_visit`, storage
is the `Store`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match, Mount, Route
from starlette.staticfiles import StaticFiles

from . import api, routes_pages
from .security import SecurityMiddleware

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "psyscore_session"
SESSION_MAX_AGE = 12 * 3600  # a working day; then log in again
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def loopback_hosts(port: int) -> list[str]:
    """The `Host` header values a browser sends for this server on the loopback interface."""
    return [f"{name}:{port}" for name in LOOPBACK_NAMES]


def create_app(
    store,
    *,
    require_login: bool,
    secret_key: bytes | None = None,
    allowed_hosts: Iterable[str] = ("testserver",),
    https: bool = False,
    local_user: str = "local",
) -> Starlette:
    """The workspace app over `store`.

    Parameters
    ----------
    store
        The `psyscore.web.store.Store` holding clients and visits.
    require_login
        Every page but the login page needs a logged-in account (and the API HTTP Basic
        credentials). Without it every change is made as `local_user`.
    secret_key
        Signs the session cookie. None: a random key (sessions end when the app stops).
    allowed_hosts
        The exact `Host` header values this server answers to (``127.0.0.1:8765``); any other
        is refused with 403 (DNS rebinding).
    https
        The server runs with TLS: the session cookie is marked Secure.
    """
    routes = [
        *routes_pages.routes(),
        *api.routes(),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]

    def route_template(scope) -> str:
        for route in routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "path", "?") + ("/..." if isinstance(route, Mount) else "")
        return "(no route)"

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=(secret_key or secrets.token_bytes(32)).hex(),
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE,
                same_site="strict",
                https_only=https,
            ),
            Middleware(
                SecurityMiddleware,
                allowed_hosts=allowed_hosts,
                require_login=require_login,
                store=store,
                route_template=route_template,
                local_user=local_user,
            ),
        ],
        exception_handlers=routes_pages.exception_handlers(),
    )
    app.state.store = store
    app.state.require_login = require_login
    app.state.templates = routes_pages.template_env()
    return app


__all__ = ["Route", "create_app", "loopback_hosts"]
