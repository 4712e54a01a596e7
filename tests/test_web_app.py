"""The workspace web app (`psyscore serve`): pages, the visit form, reports, export, JSON API.

Driven with Starlette's TestClient over a real SQLite store in a temporary folder.
"""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
pytest.importorskip("sqlalchemy")

from starlette.testclient import TestClient

from psyscore.intake import compare, score_form
from psyscore.library import resolve_instruments
from psyscore.web import store as store_module
from psyscore.web.app import create_app
from psyscore.web.store import Store

PHQ9 = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_10": 0}
GAD7 = {f"gad7_{i}": 2 for i in range(1, 8)}
ORIGIN = "http://testserver"


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    monkeypatch.setattr(
        store_module,
        "PASSWORD_HASHER_OPTIONS",
        {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
    )


@pytest.fixture
def db(tmp_path):
    return tmp_path / "workspace.db"


@pytest.fixture
def store(db):
    opened = Store.open(db)
    yield opened
    opened.close()


@pytest.fixture
def client(store):
    with TestClient(create_app(store, require_login=False)) as c:
        yield c


def token(client, url="/") -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "no CSRF token on the page"
    return found.group(1)


def post_visit(client, client_id="C17", **body):
    payload = {"date": "2026-01-05", "instruments": ["phq-9"], "answers": PHQ9} | body
    return client.post(f"/api/clients/{client_id}/visits", json=payload)


def cli_json(instruments, answers, *, client_id, date, previous=(), sex=None):
    """What `psyscore intake --json` gives for the same form (the CLI's own path)."""
    insts = resolve_instruments(list(instruments))
    result = score_form(
        insts,
        answers,
        client_id=client_id,
        date=date,
        sex=sex,
        options={"instruments": list(instruments), "source": "psyscore serve"},
    )
    if previous:
        compare(result, list(previous), insts)
    return json.loads(json.dumps(result.to_dict(), default=str))


# ---- JSON API -----------------------------------------------------------------------------------


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_api_post_returns_the_intake_json_plus_visit_id(client):
    response = post_visit(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["visit_id"] >= 1
    assert body["report_url"] == f"/visits/{body['visit_id']}/report"
    expected = cli_json(["phq-9"], PHQ9, client_id="C17", date="2026-01-05")
    got = {k: v for k, v in body.items() if k not in ("visit_id", "report_url")}
    assert got == expected
    assert got["instruments"][0]["scores"][0]["value"] == 9


def test_api_second_visit_is_compared_with_the_first(client):
    first = post_visit(client, sex="male").json()
    worse = PHQ9 | {"phq9_1": 3, "phq9_2": 3, "phq9_3": 3, "phq9_4": 3}
    second = post_visit(client, date="2026-03-01", answers=worse, sex="male").json()
    score = second["instruments"][0]["scores"][0]
    assert score["change"]["previous"] == 9
    assert score["change"]["category"] == "reliable deterioration"
    expected = cli_json(
        ["phq-9"],
        worse,
        client_id="C17",
        date="2026-03-01",
        sex="male",
        previous=[{k: v for k, v in first.items() if k not in ("visit_id", "report_url")}],
    )
    assert {k: v for k, v in second.items() if k not in ("visit_id", "report_url")} == expected
    listed = client.get("/api/clients/C17/visits").json()
    assert [v["visit_number"] for v in listed["visits"]] == [1, 2]
    total = listed["visits"][1]["scores"][0]
    assert total["value"] == 17 and total["change"] == "reliable deterioration"


def test_api_bad_answer_is_422_with_the_cli_problem_records_and_nothing_stored(client, store):
    response = post_visit(client, answers=PHQ9 | {"phq9_3": 7})
    assert response.status_code == 422
    problems = response.json()["problems"]
    expected = cli_json(["phq-9"], PHQ9 | {"phq9_3": 7}, client_id="C17", date="2026-01-05")
    assert problems == expected["instruments"][0]["problems"]
    assert problems and problems[0]["column"] == "phq9_3"
    assert store.find_clients() == []


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"instruments": ["no-such-thing"]}, "unknown instrument"),
        ({"answers": PHQ9 | {"zz_1": 1}}, "not an item"),
        ({"answers": PHQ9 | {"phq9_2": [1, 2]}}, "one value"),
        ({"date": "2026-02-30"}, "date"),
        ({"answers": {"gad7_1": 1}}, "no answer matches an item of phq-9"),
    ],
)
def test_api_unknown_instrument_item_or_date_is_422(client, store, body, fragment):
    response = post_visit(client, **body)
    assert response.status_code == 422
    assert fragment in response.json()["error"]
    assert store.find_clients() == []


def test_api_accepts_only_json(client):
    response = client.post(
        "/api/clients/C17/visits", content="date=2026-01-05", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    form = client.post("/api/clients/C17/visits", data={"date": "2026-01-05"})
    assert form.status_code == 415


def test_api_unknown_client_is_404(client):
    assert client.get("/api/clients/nobody/visits").status_code == 404


# ---- pages: the visit form by plain form posts (no JavaScript) ----------------------------


def fill_visit(client, client_id, date, answers, instruments=("phq-9", "gad-7"), sex="male"):
    csrf = token(client)
    created = client.post("/clients", data={"client_id": client_id, "csrf_token": csrf})
    assert created.status_code == 200 and f"Client {client_id}" in created.text
    page = client.post(
        f"/clients/{client_id}/visits",
        data={"date": date, "instrument": list(instruments), "csrf_token": csrf},
    )
    assert page.status_code == 200
    visit = int(re.search(r"/visits/(\d+)/instrument/0", str(page.url)).group(1))
    for item, value in answers.items():
        response = client.post(
            f"/visits/{visit}/answer",
            data={"item": item, "value": "skip" if value is None else value, "csrf_token": csrf},
        )
        assert response.status_code == 200, response.text
    review = client.get(f"/visits/{visit}/review")
    assert review.status_code == 200
    report = client.post(f"/visits/{visit}/score", data={"csrf_token": csrf, "sex": sex})
    assert report.status_code == 200, report.text
    assert str(report.url).endswith(f"/visits/{visit}/report")
    return visit, report


def test_form_posts_save_each_answer_and_the_report_shows_the_alert(client, store):
    answers = PHQ9 | {"phq9_9": 2} | GAD7
    visit, report = fill_visit(client, "C1", "2026-01-05", answers)
    assert "CRITICAL ALERT" in report.text
    assert "review suicide risk" in report.text
    stored = store.get_visit(visit)
    assert stored.status == "scored"
    assert stored.answers == answers
    expected = cli_json(["phq-9", "gad-7"], answers, client_id="C1", date="2026-01-05", sex="male")
    assert stored.result["instruments"] == expected["instruments"]
    printable = client.get(f"/visits/{visit}/report.html")
    assert printable.status_code == 200 and "CRITICAL ALERT" in printable.text


def test_answer_screen_lists_anchors_as_buttons_and_review_shows_skips(client, store):
    csrf = token(client)
    client.post("/clients", data={"client_id": "C2", "csrf_token": csrf})
    page = client.post(
        "/clients/C2/visits",
        data={"date": "2026-01-05", "bundle": "men-wellbeing", "csrf_token": csrf},
    )
    assert 'data-key="0"' in page.text and "Not at all" in page.text
    visit = int(re.search(r"/visits/(\d+)/", str(page.url)).group(1))
    assert store.get_visit(visit).instruments[:2] == ["phq-9", "gad-7"]
    client.post(
        f"/visits/{visit}/answer", data={"item": "phq9_1", "value": "skip", "csrf_token": csrf}
    )
    assert store.get_visit(visit).answers == {"phq9_1": None}
    review = client.get(f"/visits/{visit}/review").text
    assert "skipped (missing)" in review and "not answered yet" in review
    # an answer the scale does not allow is refused, not stored as missing
    bad = client.post(
        f"/visits/{visit}/answer",
        data={"item": "phq9_2", "value": "9", "csrf_token": csrf},
        headers={"accept": "application/json"},
    )
    assert bad.status_code == 422
    assert "phq9_2" not in store.get_visit(visit).answers


def test_js_answer_gets_json_and_the_critical_alert(client):
    csrf = token(client)
    client.post("/clients", data={"client_id": "C3", "csrf_token": csrf})
    page = client.post(
        "/clients/C3/visits", data={"date": "2026-01-05", "instrument": "phq-9", "csrf_token": csrf}
    )
    visit = int(re.search(r"/visits/(\d+)/", str(page.url)).group(1))
    saved = client.post(
        f"/visits/{visit}/answer",
        data={"item": "phq9_9", "value": "1"},
        headers={"accept": "application/json", "x-csrf-token": csrf},
    )
    assert saved.status_code == 200
    assert saved.json()["code"] == 1 and "suicide" in saved.json()["alert"]


def test_second_visit_shows_chart_and_change_category(client):
    fill_visit(client, "C4", "2026-01-05", PHQ9 | GAD7)
    worse = {k: 3 for k in PHQ9} | {"phq9_10": 0} | GAD7
    _, report = fill_visit(client, "C4", "2026-03-01", worse)
    assert "<svg" in report.text and "reliable deterioration" in report.text
    page = client.get("/clients/C4").text
    assert page.count('<svg class="chart"') >= 2  # PHQ-9 and GAD-7 totals
    assert "reliable deterioration" in page
    assert "moderately severe (&#8804; 19)" in page  # band thresholds drawn with their labels


def test_find_clients_and_unknown_client(client):
    fill_visit(client, "C5", "2026-01-05", PHQ9, instruments=("phq-9",))
    assert "C5" in client.get("/?q=c").text
    assert client.get("/clients/nobody").status_code == 404


def test_program_export_streams_the_file_and_leaves_no_temp_file(client, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    fill_visit(client, "C6", "2026-01-05", PHQ9 | GAD7)
    csrf = token(client, "/export")
    response = client.post("/export", data={"format": "csv", "csrf_token": csrf})
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0].startswith("client_id,visit_date,visit_number") and "C6" in lines[1]
    sav = client.post("/export", data={"format": "sav", "start": "2026-01-01", "csrf_token": csrf})
    assert sav.status_code == 200
    import pyreadstat

    saved = tmp_path / "program.sav"
    saved.write_bytes(sav.content)
    frame, meta = pyreadstat.read_sav(str(saved))
    assert list(frame["client_id"]) == ["C6"] and list(frame["phq9_total"]) == [9]
    assert meta.column_names_to_labels["visit_number"].startswith("Visit number")
    assert list((tmp_path / "tmp").iterdir()) == []
    bad = client.post("/export", data={"format": "csv", "start": "x", "csrf_token": csrf})
    assert bad.status_code == 422


def test_delete_visit_is_soft(client, store):
    visit, _ = fill_visit(client, "C7", "2026-01-05", PHQ9, instruments=("phq-9",))
    csrf = token(client)
    client.post(f"/visits/{visit}/delete", data={"reason": "entered twice", "csrf_token": csrf})
    assert store.list_visits("C7") == []
    assert store.list_visits("C7", include_deleted=True)[0].deleted


def test_restart_keeps_every_visit(db):
    with (
        Store.open(db) as first_store,
        TestClient(create_app(first_store, require_login=False)) as c,
    ):
        ids = [post_visit(c, date=f"2026-01-0{d}").json()["visit_id"] for d in (1, 2, 3)]
    with Store.open(db) as again, TestClient(create_app(again, require_login=False)) as c:
        listed = c.get("/api/clients/C17/visits").json()["visits"]
        assert [v["visit_id"] for v in listed] == ids
        assert c.get(f"/visits/{ids[0]}/report").status_code == 200


def test_static_files_ship_in_the_package():
    from importlib import resources

    static = resources.files("psyscore.web") / "static"
    assert (static / "workspace.js").is_file() and (static / "workspace.css").is_file()
    assert (resources.files("psyscore.web") / "templates" / "form.html").is_file()


# ---- a later visit's change never goes stale ------------------------------------------------


def total_change(store, visit_id):
    score = store.get_visit(visit_id).result["instruments"][0]["scores"][0]
    return score["change"] and (score["change"]["previous"], score["change"]["category"])


def test_changing_an_earlier_visit_rescores_the_later_ones(client, store):
    high = {k: 2 for k in PHQ9} | {"phq9_9": 0, "phq9_10": 0}  # 16
    low = {k: 0 for k in PHQ9} | {"phq9_1": 1, "phq9_2": 1}  # 2
    first, _ = fill_visit(client, "C8", "2026-01-05", high, instruments=("phq-9",))
    second, _ = fill_visit(client, "C8", "2026-03-01", low, instruments=("phq-9",))
    assert total_change(store, second) == (16, "recovered")
    csrf = token(client)
    client.post(
        f"/visits/{first}/answer", data={"item": "phq9_3", "value": "0", "csrf_token": csrf}
    )
    client.post(
        f"/visits/{first}/answer", data={"item": "phq9_4", "value": "0", "csrf_token": csrf}
    )
    client.post(f"/visits/{first}/score", data={"csrf_token": csrf, "sex": "male"})
    assert total_change(store, second) == (12, "recovered")
    # a visit entered later but dated between them becomes the second visit's previous one
    between = post_visit(client, "C8", date="2026-02-01", answers=low, sex="male")
    assert between.status_code == 201
    assert total_change(store, second) == (2, "no reliable change")
    client.post(
        f"/visits/{between.json()['visit_id']}/delete",
        data={"reason": "wrong client", "csrf_token": csrf},
    )
    assert total_change(store, second) == (12, "recovered")


def test_chart_spans_the_score_range_draws_thresholds_and_marks_unscored_visits():
    from psyscore.web import chart

    insts = resolve_instruments(["phq-9"])
    scored = cli_json(["phq-9"], PHQ9, client_id="C", date="2026-01-05")
    unscored = cli_json(["phq-9"], {"phq9_1": 1}, client_id="C", date="2026-02-05")
    series = chart.series_of(insts, [scored, unscored])
    assert [s.column for s in series] == ["phq9_total"]
    assert series[0].points == [("2026-01-05", 9.0), ("2026-02-05", None)]
    svg = str(chart.svg(series[0]))
    assert svg.count('class="threshold"') == 4  # between the five severity bands
    assert ">27<" in svg and ">0<" in svg  # the axis is the score's range, 0-27
    assert "not scored" in svg and 'class="point"' in svg
    assert "<script" not in svg and "style=" not in svg
