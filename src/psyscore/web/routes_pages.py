"""The workspace's pages: clients, the visit form, review, report, program export, login.

Thin routes: they read the request, call the `Store` and `visits` in a worker thread (the store
is synchronous), and render a Jinja2 template. Every state-changing form is a plain POST with
the CSRF token, so everything works without JavaScript; `static/workspace.js` only adds the
keyboard (number keys answer, `s` skips, Backspace goes back) and saves each answer by `fetch`.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import chart, visits
from .security import allow_styles, csrf_token, current_user
from .store import NotFound, StoreError

HERE = Path(__file__).resolve().parent
BUNDLES = ("program-intake", "men-wellbeing")
EXPORT_FORMATS = {"sav": ".sav", "xlsx": ".xlsx", "csv": ".csv"}
EXPORT_TYPES = {
    ".sav": "application/x-spss-sav",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv",
}


def template_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["url"] = lambda s: quote(str(s), safe="")
    return env


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    env: jinja2.Environment = request.app.state.templates
    html = env.get_template(name).render(
        request=request,
        csrf=csrf_token(request),
        user=current_user(request),
        require_login=request.app.state.require_login,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def _store(request: Request):
    return request.app.state.store


def _user(request: Request) -> str:
    return current_user(request) or "local"


async def _call(fn, *args, **kwargs):
    return await run_in_threadpool(fn, *args, **kwargs)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


# ---- home, clients ------------------------------------------------------------------------------


async def home(request: Request):
    query = request.query_params.get("q", "").strip()
    found = None
    error = None
    if "q" in request.query_params:
        try:
            found = await _call(_store(request).find_clients, query, limit=200)
        except StoreError as exc:
            error = str(exc)
    return render(request, "home.html", query=query, found=found, error=error)


async def create_client(request: Request):
    form = await request.form()
    client_id = str(form.get("client_id", "")).strip()
    try:
        await _call(_store(request).ensure_client, client_id, user=_user(request))
    except StoreError as exc:
        return render(request, "home.html", 422, query="", found=None, error=str(exc))
    return RedirectResponse(f"/clients/{quote(client_id, safe='')}", status_code=303)


def _client_context(store, client_id: str) -> dict[str, Any]:
    client = store.get_client(client_id)
    all_visits = store.list_visits(client_id)
    scored = [v for v in all_visits if v.result is not None]
    refs = list(dict.fromkeys(i for v in scored for i in v.instruments))
    instruments = visits.resolve(refs) if refs else []
    series = chart.series_of(instruments, [v.result for v in scored])
    last = scored[-1] if scored else None
    return {
        "client": client,
        "visits": all_visits,
        "charts": [(s, chart.svg(s)) for s in series],
        "changes": visits.score_table(last.result) if last else [],
        "last": last,
    }


async def client_page(request: Request):
    client_id = request.path_params["client_id"]
    store = _store(request)
    context = await _call(_client_context, store, client_id)
    from ..instrument import Bundle
    from ..library import builtin_ids, load

    choices = [i for i in builtin_ids() if not isinstance(load(i), Bundle)]
    return render(
        request,
        "client.html",
        bundles=BUNDLES,
        choices=choices,
        today=dt.date.today().isoformat(),
        **context,
    )


async def start_visit(request: Request):
    client_id = request.path_params["client_id"]
    form = await request.form()
    typed = re.split(r"[\s,;]+", str(form.get("instruments", "") or "").strip())
    refs = [t for t in typed if t] + [str(x) for x in form.getlist("instrument") if str(x)]
    bundle = str(form.get("bundle", "") or "")
    if bundle:
        refs.insert(0, bundle)
    date = str(form.get("date", "") or dt.date.today().isoformat())
    try:
        ids = [i.id for i in visits.resolve(refs)]
        visit_id = await _call(
            _store(request).create_visit, client_id, date=date, instruments=ids, user=_user(request)
        )
    except (visits.VisitRejected, StoreError) as exc:
        raise HTTPException(422, str(exc)) from None
    return RedirectResponse(f"/visits/{visit_id}/instrument/0", status_code=303)


async def delete_visit(request: Request):
    visit_id = request.path_params["visit_id"]
    form = await request.form()
    store = _store(request)
    visit = await _call(store.get_visit, visit_id)
    await _call(
        store.delete_visit, visit_id, user=_user(request), reason=str(form.get("reason", ""))[:500]
    )
    await _call(
        visits.rescore_later, store, visit.client_id, visit.date, visit_id, user=_user(request)
    )
    return RedirectResponse(f"/clients/{quote(visit.client_id, safe='')}", status_code=303)


# ---- the form -----------------------------------------------------------------------------------


def _form_of(visit) -> tuple[list, list[visits.FormItem]]:
    instruments = visits.resolve(visit.instruments)
    return instruments, visits.form_items(instruments)


async def instrument_screen(request: Request):
    visit_id = request.path_params["visit_id"]
    index = request.path_params["index"]
    visit = await _call(_store(request).get_visit, visit_id)
    instruments, items = _form_of(visit)
    if not 0 <= index < len(instruments):
        raise HTTPException(404, "no such screen in this visit")
    inst = instruments[index]
    here = [fi for fi in items if fi.instrument.id == inst.id]
    wanted = request.query_params.get("item")
    current = next((fi for fi in here if fi.item.id == wanted), None) or next(
        (fi for fi in here if fi.item.id not in visit.answers), here[0]
    )
    back = request.query_params.get("back") == "review"
    next_url = (
        f"/visits/{visit_id}/review"
        if back or index + 1 == len(instruments)
        else f"/visits/{visit_id}/instrument/{index + 1}"
    )
    prev_url = f"/visits/{visit_id}/instrument/{index - 1}?item=last" if index else ""
    if wanted == "last":
        current = here[-1]
    return render(
        request,
        "form.html",
        visit=visit,
        inst=inst,
        index=index,
        count=len(instruments),
        items=here,
        total=len(items),
        current=current,
        answers=visit.answers,
        keys=_keys(here),
        next_url=next_url,
        prev_url=prev_url,
        back=back,
    )


def _keys(items: list[visits.FormItem]) -> dict[str, dict[Any, str]]:
    """Item id -> {code: key}: the number key that answers each anchor (its code, 0-9)."""
    keys = {}
    for fi in items:
        codes = [c for c, _ in fi.anchors]
        if all(isinstance(c, int) and 0 <= c <= 9 for c in codes):
            keys[fi.item.id] = {c: str(c) for c in codes}
        else:
            keys[fi.item.id] = {}
    return keys


async def save_answer(request: Request):
    visit_id = request.path_params["visit_id"]
    form = await request.form()
    item_id = str(form.get("item", ""))
    raw = form.get("value")
    value = None if raw in (None, "", "skip") else str(raw)
    store = _store(request)
    visit = await _call(store.get_visit, visit_id)
    instruments, items = _form_of(visit)
    try:
        code = visits.check_one_answer(instruments, item_id, value)
    except visits.VisitRejected as exc:
        if _wants_json(request):
            return JSONResponse({"error": str(exc), "problems": exc.problems}, status_code=422)
        raise HTTPException(422, str(exc)) from None
    await _call(store.save_answers, visit_id, {item_id: code}, user=_user(request))
    position = next(fi.position for fi in items if fi.item.id == item_id)
    this = items[position]
    alert = None
    critical = this.item.critical
    if code is not None and critical is not None:
        op, threshold = critical.op_and_value
        if op(float(code), threshold):
            alert = critical.message
    if _wants_json(request):
        return JSONResponse({"ok": True, "item": item_id, "code": code, "alert": alert})
    # without JavaScript: back to the screen, at the next item (or on to the next screen)
    index = [i.id for i in instruments].index(this.instrument.id)
    back = form.get("back") == "review"
    following = items[position + 1] if position + 1 < len(items) else None
    if back:
        return RedirectResponse(f"/visits/{visit_id}/review", status_code=303)
    if following is None:
        return RedirectResponse(f"/visits/{visit_id}/review", status_code=303)
    if following.instrument.id != this.instrument.id:
        return RedirectResponse(f"/visits/{visit_id}/instrument/{index + 1}", status_code=303)
    return RedirectResponse(
        f"/visits/{visit_id}/instrument/{index}?item={quote(following.item.id)}"
        f"#item-{quote(following.item.id)}",
        status_code=303,
    )


def _review_rows(visit, instruments, items):
    rows = []
    for fi in items:
        given = visit.answers.get(fi.item.id, "unasked")
        if given == "unasked":
            shown = "not answered yet"
        elif given is None:
            shown = "skipped (missing)"
        else:
            label = next((lab for c, lab in fi.anchors if float(c) == float(given)), "")
            shown = f"{given} = {label}" if label else str(given)
        index = [i.id for i in instruments].index(fi.instrument.id)
        rows.append(
            {
                "fi": fi,
                "shown": shown,
                "missing": given is None or given == "unasked",
                "url": f"/visits/{visit.visit_id}/instrument/{index}?item={quote(fi.item.id)}"
                "&back=review",
            }
        )
    return rows


async def review(request: Request, error: str | None = None, problems=None, status=200):
    visit_id = request.path_params["visit_id"]
    store = _store(request)
    visit = await _call(store.get_visit, visit_id)
    instruments, items = _form_of(visit)
    earlier = await _call(visits.earlier_results, store, visit.client_id, visit.date)
    known = (earlier[-1].get("options") or {}) if earlier else {}
    if not known and earlier:
        known = (earlier[-1].get("provenance") or {}).get("options") or {}
    return render(
        request,
        "review.html",
        status,
        sex=known.get("sex") or "",
        age=known.get("age"),
        visit=visit,
        rows=_review_rows(visit, instruments, items),
        error=error,
        problems=problems or [],
    )


async def score(request: Request):
    visit_id = request.path_params["visit_id"]
    form = await request.form()
    store = _store(request)
    visit = await _call(store.get_visit, visit_id)
    try:
        sex, age = visits.check_norm_options(form.get("sex"), form.get("age"))
        result = await _call(
            visits.score_visit,
            store,
            visit.client_id,
            date=visit.date,
            refs=visit.instruments,
            answers=visit.answers,
            sex=sex,
            age=age,
            visit_id=visit.visit_id,
        )
    except visits.VisitRejected as exc:
        return await review(request, str(exc), exc.problems, 422)
    await _call(
        store.complete_visit, visit_id, answers=visit.answers, result=result, user=_user(request)
    )
    await _call(
        visits.rescore_later, store, visit.client_id, visit.date, visit_id, user=_user(request)
    )
    return RedirectResponse(f"/visits/{visit_id}/report", status_code=303)


# ---- reports ------------------------------------------------------------------------------------


def _intake_result(result: dict[str, Any]):
    """The stored JSON back as an IntakeResult for `render_html`."""
    from .result_loader import intake_result

    return intake_result(result)


async def _scored_visit(request: Request):
    visit = await _call(_store(request).get_visit, request.path_params["visit_id"])
    if visit.result is None:
        raise HTTPException(409, "this visit is not scored yet: finish its form first")
    return visit


STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)
BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)


async def report(request: Request):
    visit = await _scored_visit(request)
    store = _store(request)
    context = await _call(_client_context, store, visit.client_id)
    html = await _call(_report_html, visit.result)
    # the report's page rules (body width, margins) apply to its own section, not to this page
    styles = [
        re.sub(r"(^|[}\s])body\s*\{", r"\1.embedded-report {", s) for s in STYLE.findall(html)
    ]
    body = BODY.search(html)
    allow_styles(request, styles)
    return render(
        request,
        "report.html",
        visit=visit,
        report_styles=[jinja2.utils.markupsafe.Markup(s) for s in styles],
        report_body=jinja2.utils.markupsafe.Markup(body.group(1) if body else ""),
        alerts=visit.result.get("alerts", []),
        rows=visits.score_table(visit.result),
        **{k: v for k, v in context.items() if k in ("charts", "client")},
    )


def _report_html(result: dict[str, Any]) -> str:
    from ..report.intake_html import render_html

    return render_html(_intake_result(result))


async def printable_report(request: Request):
    visit = await _scored_visit(request)
    html = await _call(_report_html, visit.result)
    allow_styles(request, STYLE.findall(html))
    return HTMLResponse(html)


async def report_pdf(request: Request):
    from ..report.browser import BrowserError, find_browser, html_to_pdf

    visit = await _scored_visit(request)
    if find_browser() is None:
        raise HTTPException(
            503, "PDF needs Chromium on the server; open the printable report and print it"
        )
    from ..report.intake_html import render_html

    folder = Path(tempfile.mkdtemp(prefix="psyscore-report-"))
    out = folder / "report.pdf"
    try:
        html = render_html(_intake_result(visit.result), "A4")
        await _call(html_to_pdf, html, out)
    except BrowserError:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(503, "the browser could not print the report") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    name = f"intake-{visit.client_id}-{visit.date}.pdf"
    return FileResponse(
        out,
        media_type="application/pdf",
        filename=name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


# ---- program export -------------------------------------------------------------------------


async def export_page(request: Request):
    return _export_form(request)


def _export_form(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    context = {"error": None, "notes": [], "chosen": None} | context
    return render(request, "export.html", status, formats=list(EXPORT_FORMATS), **context)


async def export_download(request: Request):
    """The program's scored visits as one file; what `program_export` found (answers that are
    not answers, visits scored with another definition) is shown first, and the file follows
    only once the user confirms (`confirm=1`), as the notes `psyscore db export-visits` prints.
    The notes name visits and instruments, never a client or an answer."""
    from ..io import write_table
    from .program_export import program_export

    form = await request.form()
    start = str(form.get("start", "") or "") or None
    end = str(form.get("end", "") or "") or None
    chosen_format = str(form.get("format", ""))
    suffix = EXPORT_FORMATS.get(chosen_format)
    try:
        if suffix is None:
            raise StoreError("choose a format: sav, xlsx or csv")
        for when in (start, end):
            if when is not None:
                dt.date.fromisoformat(when)
    except (StoreError, ValueError) as exc:
        message = str(exc) if isinstance(exc, StoreError) else "give dates as YYYY-MM-DD"
        return _export_form(request, 422, error=message)
    try:
        export = await _call(program_export, _store(request), start=start, end=end)
    except StoreError as exc:
        return _export_form(request, 422, error=str(exc))
    notes = [*export.problems, *export.notes]
    if notes and str(form.get("confirm", "")) != "1":
        chosen = {"start": start or "", "end": end or "", "format": chosen_format}
        return _export_form(request, notes=notes, chosen=chosen)
    folder = Path(tempfile.mkdtemp(prefix="psyscore-export-"))
    name = f"program-visits{'-' + start if start else ''}{'-to-' + end if end else ''}{suffix}"
    path = folder / name
    try:
        await _call(write_table, export.table, path)
    except StoreError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _export_form(request, 422, error=str(exc))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=EXPORT_TYPES[suffix],
        filename=name,
        # how many notes the user confirmed (for scripts; the page showed them)
        headers={"X-Psyscore-Export-Notes": str(len(notes))},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


# ---- login ----------------------------------------------------------------------------------


async def login_page(request: Request):
    return render(request, "login.html", error=None)


async def login(request: Request):
    form = await request.form()
    name = str(form.get("name", ""))
    password = str(form.get("password", ""))
    ok = await _call(_store(request).verify_user, name, password) if name and password else False
    if not ok:
        return render(request, "login.html", 401, error="Name or password not recognised.")
    request.session.clear()  # a fresh session (and CSRF token) for the account
    request.session["user"] = name
    return RedirectResponse("/", status_code=303)


async def logout(request: Request):
    request.session.clear()
    return RedirectResponse("/login" if request.app.state.require_login else "/", status_code=303)


async def healthz(request: Request):
    return JSONResponse({"status": "ok"})


def routes() -> list[Route]:
    return [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/clients", create_client, methods=["POST"]),
        Route("/clients/{client_id}", client_page),
        Route("/clients/{client_id}/visits", start_visit, methods=["POST"]),
        Route("/visits/{visit_id:int}/instrument/{index:int}", instrument_screen),
        Route("/visits/{visit_id:int}/answer", save_answer, methods=["POST"]),
        Route("/visits/{visit_id:int}/review", review),
        Route("/visits/{visit_id:int}/score", score, methods=["POST"]),
        Route("/visits/{visit_id:int}/delete", delete_visit, methods=["POST"]),
        Route("/visits/{visit_id:int}/report", report),
        Route("/visits/{visit_id:int}/report.html", printable_report),
        Route("/visits/{visit_id:int}/report.pdf", report_pdf),
        Route("/export", export_page, methods=["GET"]),
        Route("/export", export_download, methods=["POST"]),
    ]


# ---- errors ---------------------------------------------------------------------------------


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return render(request, "error.html", exc.status_code, message=exc.detail)


async def _not_found(request: Request, exc: Exception) -> Response:
    return await _http_error(request, HTTPException(404, str(exc)))


async def _store_error(request: Request, exc: Exception) -> Response:
    return await _http_error(request, HTTPException(422, str(exc)))


def exception_handlers() -> dict:
    return {
        HTTPException: _http_error,
        NotFound: _not_found,
        StoreError: _store_error,
        visits.VisitRejected: _store_error,
    }
