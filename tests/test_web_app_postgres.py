"""The workspace web app over PostgreSQL (the throwaway server of test_web_postgres.py):
a visit posted through the API is scored, listed, and kept by a new app on the same database."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
pytest.importorskip("psycopg", reason="psycopg (the postgres extra) is not installed")

from starlette.testclient import TestClient

from psyscore.web.app import create_app
from psyscore.web.store import Store

from .test_web_app import PHQ9, post_visit
from .test_web_postgres import pg_server, pg_url  # noqa: F401


def test_api_visits_on_postgresql_survive_a_restart(pg_url):  # noqa: F811
    with Store.open(pg_url) as store, TestClient(create_app(store, require_login=False)) as c:
        first = post_visit(c, sex="male")
        assert first.status_code == 201, first.text
        worse = {k: 3 for k in PHQ9} | {"phq9_10": 0}
        second = post_visit(c, date="2026-03-01", answers=worse, sex="male").json()
        assert second["instruments"][0]["scores"][0]["change"]["category"] == (
            "reliable deterioration"
        )
        assert post_visit(c, answers=PHQ9 | {"phq9_1": 9}).status_code == 422
    with Store.open(pg_url) as store, TestClient(create_app(store, require_login=False)) as c:
        listed = c.get("/api/clients/C17/visits").json()["visits"]
        assert [v["visit_id"] for v in listed] == [first.json()["visit_id"], second["visit_id"]]
        assert c.get(f"/visits/{second['visit_id']}/report").status_code == 200
