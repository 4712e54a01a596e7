"""`psyscore serve`: the clinician workspace in the browser (Starlette app under uvicorn)."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from pathlib import Path

import typer

from .db import DB_OPTION
from .options import err, errors_to_exit, out

EPILOG = """Examples:

  psyscore serve

  psyscore serve --db /srv/psyscore/program.db --port 8800

  psyscore serve --host 0.0.0.0 --db postgresql://psyscore@dbhost/program \\
      --ssl-certfile cert.pem --ssl-keyfile key.pem

Binds 127.0.0.1 by default: only this computer can connect. Any other --host needs at least one account (`psyscore users add NAME`) and then every page asks to log in; use TLS (--ssl-certfile, --ssl-keyfile) whenever the network is not trusted. On 127.0.0.1 login is asked when accounts exist, or with --login. The JSON API takes HTTP Basic credentials of an account when login is required.

The request log holds method, route and status only: no client ids, no answers.

Exit codes: 0 stopped; 2 usage error (nothing started)."""

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def register(app: typer.Typer) -> None:
    app.command(name="serve", epilog=EPILOG)(serve)


def serve(
    db: str = DB_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="Port to listen on."),
    login: bool = typer.Option(
        False, "--login", help="Ask to log in on 127.0.0.1 too (needs an account)."
    ),
    allow_host: list[str] = typer.Option(
        None,
        "--allow-host",
        help="Another name clients use to reach the server (as in the address bar, without the "
        "port); requests under any other Host are refused. Repeatable.",
    ),
    ssl_certfile: Path = typer.Option(None, "--ssl-certfile", help="TLS certificate (PEM)."),
    ssl_keyfile: Path = typer.Option(None, "--ssl-keyfile", help="TLS private key (PEM)."),
) -> None:
    """Start the clinician workspace: clients, visit forms, reports, charts, program export."""
    with errors_to_exit():
        from ..errors import UsageError

        if (ssl_certfile is None) != (ssl_keyfile is None):
            raise UsageError("give both --ssl-certfile and --ssl-keyfile, or neither")
        for path in (ssl_certfile, ssl_keyfile):
            if path is not None and not path.is_file():
                raise UsageError(f"{path}: no such file")
        try:
            import uvicorn

            from ..web.app import create_app
        except ImportError:
            raise UsageError(
                'psyscore serve needs the web extra: pip install "psyscore[web]"'
            ) from None
        from ..web.security import load_or_create_secret
        from ..web.store import Store, data_dir

        store = Store.open(db)
        local = host in LOOPBACK
        has_users = store.has_users()
        if not local and not has_users:
            raise UsageError(
                f"--host {host} lets other computers connect, so it needs accounts: add one with "
                "`psyscore users add NAME` (same --db), then start the server again"
            )
        if login and not has_users:
            raise UsageError("--login needs an account: `psyscore users add NAME` first")
        require_login = not local or has_users or login
        folder = store.sqlite_path.parent if store.sqlite_path is not None else data_dir()
        secret = load_or_create_secret(folder)
        https = ssl_certfile is not None
        app = create_app(
            store,
            require_login=require_login,
            secret_key=secret,
            allowed_hosts=allowed_hosts(host, port, allow_host or [], https),
            https=https,
        )
    scheme = "https" if https else "http"
    shown = "127.0.0.1" if host in ("127.0.0.1", "localhost") else host
    if _is_any(host):
        shown = socket.getfqdn()
    out.print(f"psyscore workspace on {store.describe()}")
    out.print(f"Open {scheme}://{_bracket(shown)}:{port}/ in your browser (Ctrl-C stops).")
    if require_login:
        out.print("Login required (accounts: psyscore users).")
    if not local and not https:
        err.print(
            "[yellow]warning:[/] no TLS: passwords and answers cross the network unencrypted; "
            "use --ssl-certfile/--ssl-keyfile unless the network is trusted"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,  # uvicorn's log has the path (client ids); ours has the route only
        log_level="info",
        server_header=False,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
    )


def _is_any(host: str) -> bool:
    return host in ("0.0.0.0", "::")


def _bracket(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def allowed_hosts(host: str, port: int, extra: list[str], https: bool) -> list[str]:
    """The Host header values this server answers to: its loopback names, the host it binds,
    this computer's names when it binds every interface, and --allow-host names."""
    names = {"127.0.0.1", "localhost", "[::1]"}
    if not _is_any(host):
        names.add(_bracket(host))
    else:
        names.update({socket.gethostname(), socket.getfqdn()})
        with contextlib.suppress(OSError):
            names.update(_bracket(a[4][0]) for a in socket.getaddrinfo(socket.gethostname(), None))
    names.update(_bracket(n.strip()) for n in extra if n.strip())
    default_port = 443 if https else 80
    hosts = [f"{n.lower()}:{port}" for n in names]
    if port == default_port:
        hosts += [n.lower() for n in names]
    return sorted(hosts)
