"""The workspace's program export page shows what `program_export` found (visits with answers
that are not answers, visits scored with another version of a definition) before the download,
as `psyscore db export-visits` prints it; never an answer or a client id."""

from __future__ import annotations

import logging
import re

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
pytest.importorskip("sqlalchemy")

from starlette.testclient import TestClient

from psyscore.intake import score_form
from psyscore.library import resolve_instruments
from psyscore.web import store as store_module
from psyscore.web.app import create_app
from psyscore.web.store import Store

PHQ9 = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_10": 0}
CLIENT = "CLIENT-4711"


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


def add_scored(store, client, date, answers, *, definition_hash=None):
    result = score_form(resolve_instruments(["phq-9"]), answers).to_dict()
    if definition_hash is not None:  # as if scored with an older PHQ-9 definition
        result["provenance"]["definitions"][0]["sha256"] = definition_hash
    return store.create_scored_visit(
        client, date=date, instruments=["phq-9"], answers=answers, result=result, user="a"
    )


@pytest.fixture
def client(store):
    with TestClient(create_app(store, require_login=False)) as c:
        yield c


def csrf(client) -> str:
    page = client.get("/export")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_notes_are_shown_before_the_download(client, store, caplog):
    caplog.set_level(logging.DEBUG)
    invalid = add_scored(store, CLIENT, "2026-01-10", PHQ9 | {"phq9_2": 7})
    older = add_scored(store, CLIENT, "2026-02-10", PHQ9, definition_hash="0" * 12)
    token = csrf(client)
    form = {"format": "csv", "start": "2026-01-01", "csrf_token": token}
    page = client.post("/export", data=form)
    assert page.status_code == 200
    assert "attachment" not in page.headers.get("content-disposition", "")
    text = " ".join(page.text.split())
    assert f"answers that are not answers in visit(s) {invalid}" in text
    assert f"visit(s) {older} were scored with another version of its definition" in text
    # the same choices again, now to download in spite of the notes
    assert 'name="confirm" value="1"' in page.text
    assert 'name="start" value="2026-01-01"' in page.text
    assert 'name="format" value="csv"' in page.text
    assert CLIENT not in page.text  # the page names visits, never clients ...
    notes = page.text.split('class="notes"')[1].split("</ul>")[0]
    assert "7" not in notes.replace("phq9_", "").replace("phq-9", "")  # ... nor answers
    download = client.post("/export", data=form | {"confirm": "1"})
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert download.headers["x-psyscore-export-notes"] == "2"
    assert download.text.splitlines()[1].startswith(CLIENT)
    logged = caplog.text
    assert CLIENT not in logged and "phq9_2" not in logged


def test_a_clean_export_downloads_at_once(client, store):
    add_scored(store, CLIENT, "2026-01-10", PHQ9)
    response = client.post("/export", data={"format": "csv", "csrf_token": csrf(client)})
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["x-psyscore-export-notes"] == "0"


def test_confirm_does_not_skip_the_date_checks(client, store):
    add_scored(store, CLIENT, "2026-01-10", PHQ9 | {"phq9_2": 7})
    bad = client.post(
        "/export",
        data={"format": "csv", "start": "x", "confirm": "1", "csrf_token": csrf(client)},
    )
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
