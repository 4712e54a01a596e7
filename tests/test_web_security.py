"""Security of the workspace web app: host and origin checks, CSRF, headers, login, logs."""

from __future__ import annotations

import base64
import logging
import re
import stat

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
pytest.importorskip("sqlalchemy")

from starlette.testclient import TestClient
from typer.testing import CliRunner

from psyscore.web import store as store_module
from psyscore.web.app import create_app
from psyscore.web.security import load_or_create_secret
from psyscore.web.store import Store

from .test_web_app import PHQ9, post_visit, token

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    monkeypatch.setattr(
        store_module,
        "PASSWORD_HASHER_OPTIONS",
        {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
    )


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "workspace.db")
    yield opened
    opened.close()


@pytest.fixture
def client(store):
    with TestClient(create_app(store, require_login=False)) as c:
        yield c


@pytest.fixture
def locked(store):
    store.add_user("alice", PASSWORD)
    with TestClient(create_app(store, require_login=True)) as c:
        yield c


def basic(name: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"authorization": f"Basic {encoded}"}


# ---- CSRF, origin, host -------------------------------------------------------------------


def test_form_post_without_or_with_a_wrong_csrf_token_is_403(client, store):
    token(client)  # the session exists and has a token
    assert client.post("/clients", data={"client_id": "C1"}).status_code == 403
    wrong = client.post("/clients", data={"client_id": "C1", "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    assert store.find_clients() == []
    ok = client.post("/clients", data={"client_id": "C1", "csrf_token": token(client)})
    assert ok.status_code == 200 and [c["client_id"] for c in store.find_clients()] == ["C1"]


def test_csrf_token_of_another_session_is_refused(store):
    with (
        TestClient(create_app(store, require_login=False)) as one,
        TestClient(create_app(store, require_login=False)) as two,
    ):
        theirs = token(one)
        token(two)
        assert (
            two.post("/clients", data={"client_id": "C1", "csrf_token": theirs}).status_code == 403
        )


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "https://testserver"},  # other scheme
        {"referer": "https://evil.example/page"},
    ],
)
def test_cross_origin_post_is_403_on_forms_and_api(client, store, headers):
    csrf = token(client)
    form = client.post("/clients", data={"client_id": "C1", "csrf_token": csrf}, headers=headers)
    assert form.status_code == 403
    api = client.post(
        "/api/clients/C1/visits",
        json={"date": "2026-01-05", "instruments": ["phq-9"], "answers": PHQ9},
        headers=headers,
    )
    assert api.status_code == 403
    assert store.find_clients() == []


def test_oversized_body_is_413(client, store):
    huge = {"date": "2026-01-05", "instruments": ["phq-9"], "answers": {"x": "y" * 1_100_000}}
    assert client.post("/api/clients/C1/visits", json=huge).status_code == 413
    csrf = token(client)
    form = client.post("/clients", data={"client_id": "C" * 1_100_000, "csrf_token": csrf})
    assert form.status_code == 413
    assert store.find_clients() == []


def test_same_origin_post_is_accepted(client):
    csrf = token(client)
    response = client.post(
        "/clients",
        data={"client_id": "C1", "csrf_token": csrf},
        headers={"origin": "http://testserver"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_foreign_host_is_403_dns_rebinding(client, method):
    response = getattr(client, method)("/healthz", headers={"host": "attacker.example:8765"})
    assert response.status_code == 403
    api = client.get("/api/clients/C1/visits", headers={"host": "evil.example"})
    assert api.status_code == 403


def test_loopback_app_answers_only_its_own_host_and_port(store):
    from psyscore.cli.serve import allowed_hosts

    hosts = allowed_hosts("127.0.0.1", 8765, [], https=False)
    assert "127.0.0.1:8765" in hosts and "localhost:8765" in hosts
    assert "127.0.0.1:8766" not in hosts and "127.0.0.1" not in hosts
    app = create_app(store, require_login=False, allowed_hosts=hosts)
    with TestClient(app, base_url="http://127.0.0.1:8765") as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/healthz", headers={"host": "127.0.0.1:9999"}).status_code == 403


# ---- headers ------------------------------------------------------------------------------


def test_strict_headers_on_every_page(client):
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    static = client.get("/static/workspace.js")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")
    assert static.headers["x-content-type-options"] == "nosniff"


def test_report_allows_only_its_own_inline_style_by_hash(client):
    visit = post_visit(client).json()["visit_id"]
    for url in (f"/visits/{visit}/report", f"/visits/{visit}/report.html"):
        page = client.get(url)
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        hashes = re.findall(r"'sha256-[^']+'", csp)
        assert hashes and "unsafe-inline" not in csp
        assert page.headers["cache-control"] == "no-store"


def test_templates_and_script_have_no_inline_script():
    from importlib import resources

    folder = resources.files("psyscore.web") / "templates"
    for entry in folder.iterdir():
        text = entry.read_text(encoding="utf-8")
        for tag in re.findall(r"<script[^>]*>", text):
            assert "src=" in tag, f"{entry.name}: inline script"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{entry.name}: inline event handler"
        assert "style=" not in text, f"{entry.name}: inline style attribute"
        assert "http://" not in text and "https://" not in text, f"{entry.name}: network asset"


# ---- login --------------------------------------------------------------------------------


def test_login_required_redirects_pages_and_refuses_the_api(locked):
    page = locked.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    assert locked.get("/clients/C1", follow_redirects=False).status_code == 303
    api = post_visit(locked)
    assert api.status_code == 401 and "basic" in api.headers["www-authenticate"].lower()
    assert locked.get("/healthz").status_code == 200
    assert locked.get("/login").status_code == 200


def test_wrong_password_or_unknown_name_gets_one_generic_message(locked):
    csrf = token(locked, "/login")
    for name, password in (("alice", "wrong password!"), ("mallory", PASSWORD)):
        response = locked.post(
            "/login", data={"name": name, "password": password, "csrf_token": csrf}
        )
        assert response.status_code == 401
        assert "Name or password not recognised." in response.text
        assert locked.get("/", follow_redirects=False).status_code == 303
    assert post_visit(locked, **{}).status_code == 401


def test_login_then_work_as_that_user(locked, store):
    csrf = token(locked, "/login")
    response = locked.post(
        "/login", data={"name": "alice", "password": PASSWORD, "csrf_token": csrf}
    )
    assert response.status_code == 200 and "Log out alice" in response.text
    cookie = response.history[0].headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    # the login made a new session: the token from before the login no longer works
    assert locked.post("/clients", data={"client_id": "C1", "csrf_token": csrf}).status_code == 403
    fresh = token(locked)
    assert locked.post("/clients", data={"client_id": "C1", "csrf_token": fresh}).status_code == 200
    assert store.audit_log(client_id="C1")[0]["user"] == "alice"


def test_api_with_basic_credentials_records_the_user(locked, store):
    ok = locked.post(
        "/api/clients/C9/visits",
        json={"date": "2026-01-05", "instruments": ["phq-9"], "answers": PHQ9},
        headers=basic("alice", PASSWORD),
    )
    assert ok.status_code == 201
    assert {row["user"] for row in store.audit_log(client_id="C9")} == {"alice"}
    bad = locked.get("/api/clients/C9/visits", headers=basic("alice", "nope nope nope"))
    assert bad.status_code == 401


def test_local_user_without_accounts(client, store):
    post_visit(client, client_id="C3")
    assert {row["user"] for row in store.audit_log(client_id="C3")} == {"local"}


def test_secure_cookie_with_tls(store):
    store.add_user("alice", PASSWORD)
    app = create_app(store, require_login=True, https=True)
    with TestClient(app, base_url="https://testserver") as c:
        page = c.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()


# ---- the session secret, the serve command, the log ---------------------------------------


def test_session_secret_is_made_once_and_private(tmp_path):
    first = load_or_create_secret(tmp_path)
    assert len(first) == 32
    mode = stat.S_IMODE((tmp_path / "session.key").stat().st_mode)
    assert mode == 0o600
    assert load_or_create_secret(tmp_path) == first


def test_sessions_survive_a_restart_with_the_kept_secret(tmp_path, store):
    secret = load_or_create_secret(tmp_path)
    store.add_user("alice", PASSWORD)
    with TestClient(create_app(store, require_login=True, secret_key=secret)) as c:
        csrf = token(c, "/login")
        c.post("/login", data={"name": "alice", "password": PASSWORD, "csrf_token": csrf})
        cookies = dict(c.cookies)
    with TestClient(create_app(store, require_login=True, secret_key=secret), cookies=cookies) as c:
        assert c.get("/", follow_redirects=False).status_code == 200


def test_serve_off_localhost_needs_an_account(tmp_path, monkeypatch):
    import uvicorn

    from psyscore.cli import app

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append((a, k)))
    db = str(tmp_path / "w.db")
    result = CliRunner().invoke(app, ["serve", "--db", db, "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "psyscore users add" in result.output
    assert started == []
    result = CliRunner().invoke(app, ["serve", "--db", db, "--port", "8799"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8799/" in result.output
    (application,), kwargs = started[0]
    assert kwargs["host"] == "127.0.0.1" and kwargs["access_log"] is False
    assert application.state.require_login is False
    with Store.open(db) as s:
        s.add_user("bob", PASSWORD)
    result = CliRunner().invoke(app, ["serve", "--db", db, "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert started[-1][0][0].state.require_login is True
    assert stat.S_IMODE((tmp_path / "session.key").stat().st_mode) == 0o600


def test_log_has_route_template_not_client_id_or_answers(client, caplog):
    caplog.set_level(logging.INFO, logger="psyscore.web")
    post_visit(client, client_id="SECRET-ID-42")
    client.get("/api/clients/SECRET-ID-42/visits")
    client.get("/clients/SECRET-ID-42")
    text = caplog.text
    assert "POST /api/clients/{client_id}/visits 201" in text
    assert "GET /clients/{client_id} 200" in text
    assert "SECRET-ID-42" not in text and "phq9_1" not in text
