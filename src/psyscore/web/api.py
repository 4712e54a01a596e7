"""The JSON API for other systems.

- ``GET /api/clients/{client_id}/visits``: the client's visits with their scores.
- ``POST /api/clients/{client_id}/visits`` with ``{"date": "YYYY-MM-DD", "instruments":
  ["phq-9"], "answers": {"phq9_1": 1, ...}}`` (optional ``"sex"``, ``"age"`` choose the norm
  group): 201 with the JSON of `psyscore intake --json` plus ``visit_id`` and ``report_url``.
  Answers that are not understood: 422 with the problem records the CLI reports, and nothing
  is stored. Only ``application/json`` is accepted (415, in the security middleware).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import visits
from .security import current_user
from .store import NotFound, StoreError, check_date, check_id

FIELDS = {"date", "instruments", "answers", "sex", "age"}


def _report_url(visit_id: int) -> str:
    return f"/visits/{visit_id}/report"


def _unprocessable(message: str, problems=()) -> JSONResponse:
    return JSONResponse({"error": message, "problems": list(problems)}, status_code=422)


async def list_visits(request: Request):
    client_id = request.path_params["client_id"]
    try:
        check_id(client_id)
        found = await run_in_threadpool(request.app.state.store.list_visits, client_id)
    except NotFound as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    except StoreError as exc:
        return _unprocessable(str(exc))
    return JSONResponse(
        {
            "client_id": client_id,
            "visits": [visits.visit_summary(v, _report_url(v.visit_id)) for v in found],
        }
    )


async def post_visit(request: Request):
    client_id = request.path_params["client_id"]
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return _unprocessable("the body is not JSON")
    if not isinstance(body, dict):
        return _unprocessable('the body must be an object: {"date", "instruments", "answers"}')
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        return _unprocessable(f"unknown field(s) {', '.join(unknown)}; expected {sorted(FIELDS)}")
    store = request.app.state.store
    try:
        check_id(client_id)
        date = check_date(body.get("date"))
        refs = body.get("instruments")
        if not isinstance(refs, list):
            raise visits.VisitRejected("instruments: give a list of instrument ids")
        sex, age = visits.check_norm_options(body.get("sex"), body.get("age"))
        instruments = visits.resolve(refs)
        result = await run_in_threadpool(
            visits.score_visit,
            store,
            client_id,
            date=date,
            refs=refs,
            answers=body.get("answers"),
            sex=sex,
            age=age,
        )
        visit_id = await run_in_threadpool(
            store.create_scored_visit,
            client_id,
            date=date,
            instruments=[i.id for i in instruments],
            answers=body["answers"],
            result=result,
            user=current_user(request) or "local",
        )
        # a back-dated visit is earlier than visits already stored: their change moves
        await run_in_threadpool(
            visits.rescore_later,
            store,
            client_id,
            date,
            visit_id,
            user=current_user(request) or "local",
        )
    except visits.VisitRejected as exc:
        return _unprocessable(str(exc), exc.problems)
    except StoreError as exc:
        return _unprocessable(str(exc))
    payload = {**result, "visit_id": visit_id, "report_url": _report_url(visit_id)}
    return JSONResponse(
        payload,
        status_code=201,
        headers={"location": f"/api/clients/{quote(client_id, safe='')}/visits"},
    )


def routes() -> list[Route]:
    return [
        Route("/api/clients/{client_id}/visits", list_visits, methods=["GET"]),
        Route("/api/clients/{client_id}/visits", post_visit, methods=["POST"]),
    ]
