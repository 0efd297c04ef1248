"""The pages: server-rendered HTML (Jinja2) over the jobs table and the model registry.

Pages read the server's own state (the job store, the registry) directly; everything that
changes state — starting a job, cancelling, exporting — is done by the pages' JavaScript through
the ordinary API (``POST /ops/...``, ``POST /jobs/<id>/cancel``), so the API's validation and
limits apply unchanged. Live progress comes from ``GET /jobs/<id>/events`` (server-sent events).
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fijax import __version__
from fijax.errors import InputError, NotFoundError
from fijax.io.names import check_relative_path
from fijax.registry.jobs import ACTIVE_STATES, RESUMABLE_STATES, TERMINAL_STATES, Job, check_job_id
from fijax.server.ui.auth import ARTIFACT_CSP, SessionStore, safe_next
from fijax.server.ui.previews import tiff_preview_png

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
#: Operations whose runs the QC page lists.
QC_OPS = ("qc", "qc_labels", "qc_dataset", "compare", "compare_denoisers", "report_qc")
#: Classical methods offered on the Compare page (``compare_denoisers`` method keys).
CLASSICAL = (("gaussian", "Gaussian filter"), ("median", "Median filter"), ("puredenoise", "PureDenoise (PURE-LET)"))
#: At most this many images and maps are previewed on one job page (the rest are listed).
MAX_PREVIEWS = 24
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml"}
#: Artifacts the pages show inline (``/ui/jobs/<id>/view/<path>``); anything else is downloaded.
VIEW_TYPES = {".html": "text/html; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
              ".txt": "text/plain; charset=utf-8", ".csv": "text/plain; charset=utf-8",
              ".json": "application/json"}
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)


# -- formatting helpers (template filters) ---------------------------------------------------------------
def fmt(value: Any) -> str:
    """A value for a table cell: floats to 4 significant digits, lists comma-separated."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value) if all(not isinstance(v, dict | list) for v in value) \
            else json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, dict):
        if value and all(not isinstance(v, dict) and not (isinstance(v, list) and any(isinstance(x, dict | list)
                                                                                      for x in v))
                         for v in value.values()):
            return "; ".join(f"{k} {fmt(v)}" for k, v in value.items())
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return str(value)


def when(ts: float | str | None) -> str:
    if ts is None or ts == "":
        return "—"
    if isinstance(ts, str):
        return ts.replace("T", " ").replace("+00:00", " UTC")
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(job: Job) -> str:
    if not job.started:
        return "—"
    seconds = (job.finished or time.time()) - job.started
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def verdict_class(text: Any) -> str:
    """CSS class of a verdict: good (improves, better than baseline), bad (does not ...), neutral."""
    t = str(text or "").lower()
    if not t:
        return "neutral"
    if t.startswith(("does not", "not ", "worse", "fails", "out of domain")) or "not better" in t:
        return "bad"
    if t.startswith(("improves", "better")) or t in ("in domain", "best"):
        return "good"
    return "neutral"


env.filters.update(fmt=fmt, when=when, verdict_class=verdict_class)
#: What the file pickers offer: TIFF and the microscopy formats the server reads (OME-TIFF, CZI, ND2, LIF).
ACCEPT = ".tif,.tiff,.czi,.nd2,.lif,image/tiff"
env.globals.update(version=__version__, duration=duration, accept=ACCEPT)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = request.scope.get("fijax.session")
    text = env.get_template(template).render(request=request, csrf=session.csrf if session else "",
                                             logged_in=session is not None, path=request.url.path, **context)
    return HTMLResponse(text, status_code=status, headers=page_headers())


def page_headers() -> dict[str, str]:
    return {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


# -- job helpers -----------------------------------------------------------------------------------------
def artifacts_of(job: Job) -> list[dict[str, Any]]:
    """The job's files (:meth:`Job.artifacts`) with their suffix and, where a browser can show it, a view URL."""
    out = []
    for item in job.artifacts():
        suffix = Path(item["path"]).suffix.lower()
        out.append(dict(item, suffix=suffix,
                        view=f"/ui/jobs/{job.id}/view/{item['path']}" if suffix in VIEW_TYPES else None))
    return out


def verdicts_of(job: Job) -> list[tuple[str, str]]:
    """``(label, verdict)`` pairs worth a headline: the run's verdict, the best method, per-image verdicts."""
    values = (job.result or {}).get("values") or {}
    out = []
    if values.get("verdict"):
        out.append(("Verdict", str(values["verdict"])))
    if job.name == "check" and isinstance(values.get("in_domain"), bool):
        words = "in domain" if values["in_domain"] else "out of domain"
        out.append(("Domain check", f"{words} (score {fmt(values.get('domain_score'))}, threshold "
                                    f"{fmt(values.get('threshold'))})"))
    if values.get("best_method"):
        out.append(("Best method (SSIM)", str(values["best_method"])))
    for key in ("overlap_warning",):
        if values.get(key) not in (None, ""):
            out.append((key.replace("_", " ").capitalize(), fmt(values[key])))
    images = values.get("images")
    if isinstance(images, dict):
        for stem, v in list(images.items())[:20]:
            out.append((f"Image {stem}", fmt(v.get("verdict") if isinstance(v, dict) else v)))
    return out


def job_summary(job: Job) -> dict[str, Any]:
    values = (job.result or {}).get("values") or {}
    verdict = values.get("verdict") or (f"best: {values['best_method']}" if values.get("best_method") else "")
    return {"job": job, "verdict": verdict, "model": values.get("model") if job.name == "train" else None}


def result_view(job: Job) -> dict[str, Any]:
    """What the job page shows of a finished job's result."""
    result = job.result or {}
    values = {k: v for k, v in (result.get("values") or {}).items() if k not in ("path", "html", "json")}
    table = result.get("table") or []
    columns: list[str] = []
    for row in table[:500]:
        columns += [c for c in row if c not in columns]
    artifacts = artifacts_of(job)
    # the headline figure (compare_denoisers' comparison.png) first, then panels and the rest
    figures = sorted((a for a in artifacts if a["suffix"] in (".png", ".jpg", ".jpeg", ".svg")),
                     key=lambda a: (a["path"] != "comparison.png", a["path"]))
    tiffs = [a for a in artifacts if a["suffix"] in (".tif", ".tiff")]
    images = [{"name": name, "title": info.get("title", name), "shape": info.get("shape"),
               "url": f"/jobs/{job.id}/images/{name}",
               "preview": f"/ui/jobs/{job.id}/preview/images/{name}.png"}
              for name, info in (result.get("images") or {}).items()]
    maps = [{"name": a["path"], "title": a["path"], "url": a["url"],
             "preview": f"/ui/jobs/{job.id}/preview/artifacts/{a['path']}.png"} for a in tiffs]
    previews = images + maps
    reports = [a for a in artifacts if a["suffix"] == ".html"]
    return {"vals": values, "table": table[:500], "table_rows": len(table), "columns": columns,
            "figures": figures, "previews": previews[:MAX_PREVIEWS], "more_previews": previews[MAX_PREVIEWS:],
            "artifacts": artifacts, "reports": reports, "verdicts": verdicts_of(job),
            "csv": f"/jobs/{job.id}/table.csv" if table else None}


# -- model helpers ---------------------------------------------------------------------------------------
_VERIFIED: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_checks(rec) -> list[dict[str, Any]]:
    """Every file the card hashed, re-hashed now: ``{name, recorded, ok, problem}``.

    Hashes are cached per (path, size, mtime), so a listing does not re-read unchanged weights.
    """
    recorded = dict(rec.card.get("files") or {})
    recorded.setdefault("weights.npz", rec.weights_sha256)
    out = []
    for name, digest in sorted(recorded.items()):
        path = rec.path / name
        if not path.is_file():
            out.append({"name": name, "recorded": digest, "ok": False, "problem": "missing"})
            continue
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key not in _VERIFIED:
            _VERIFIED[key] = _sha256(path)
        ok = _VERIFIED[key] == digest
        out.append({"name": name, "recorded": digest, "ok": ok, "problem": "" if ok else "sha256 differs"})
    return out


def registry():
    from fijax.registry.models import ModelRegistry

    return ModelRegistry()


def domain_reference(card: dict[str, Any]) -> dict[str, Any] | None:
    """The model's usable training-domain reference (card ``domain_reference``), else None.

    Models trained before references existed have none; a reference that could not be built is
    recorded as ``{"error": ...}`` (see :func:`domain_problem`).
    """
    ref = card.get("domain_reference")
    return ref if isinstance(ref, dict) and ref and "error" not in ref else None


def domain_problem(card: dict[str, Any]) -> str:
    """Why a model has no usable domain reference, in words (empty when it has one)."""
    ref = card.get("domain_reference")
    if isinstance(ref, dict) and ref.get("error"):
        return f"the domain reference could not be built at training time: {ref['error']}"
    if domain_reference(card) is None:
        return ("no domain reference (trained before domain references existed): retrain, or run "
                "'fijax models calibrate' with in-domain images")
    return ""


def loss_curve_svg(folder: Path, log_name: str = "log.csv") -> str | None:
    """An inline SVG of loss and val_loss per epoch from the model's ``log.csv`` (None without one)."""
    path = folder / log_name
    if not path.is_file():
        return None
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    series = {}
    for key in ("loss", "val_loss"):
        pts = []
        for i, row in enumerate(rows):
            try:
                v = float(row.get(key, ""))
            except ValueError:
                continue
            if math.isfinite(v):
                pts.append((float(row.get("epoch") or i + 1), v))
        if pts:
            series[key] = pts
    if not series:
        return None
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    w, h, m = 480, 200, 40
    colours = {"loss": "#1f5fa8", "val_loss": "#c0392b"}
    parts = [f'<svg class="curve" viewBox="0 0 {w} {h}" role="img" aria-labelledby="curve-title">',
             '<title id="curve-title">Training loss (blue) and validation loss (red) per epoch</title>',
             f'<line x1="{m}" y1="{h - m}" x2="{w - 10}" y2="{h - m}" class="axis"/>',
             f'<line x1="{m}" y1="10" x2="{m}" y2="{h - m}" class="axis"/>',
             f'<text x="{m}" y="{h - m + 16}" class="tick">{x0:g}</text>',
             f'<text x="{w - 30}" y="{h - m + 16}" class="tick">{x1:g}</text>',
             f'<text x="2" y="{h - m}" class="tick">{y0:.3g}</text>',
             f'<text x="2" y="18" class="tick">{y1:.3g}</text>',
             f'<text x="{w / 2 - 20}" y="{h - 6}" class="tick">epoch</text>']
    for key, pts in series.items():
        coords = " ".join(f"{m + (x - x0) / (x1 - x0) * (w - m - 10):.1f},"
                          f"{h - m - (y - y0) / (y1 - y0) * (h - m - 10):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colours[key]}" stroke-width="2"/>')
        parts.append(f'<text x="{w - 80}" y="{20 + 14 * list(series).index(key)}" fill="{colours[key]}" '
                     f'class="tick">{html.escape(key)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def model_rows() -> list[dict[str, Any]]:
    try:
        records = registry().list()
    except Exception:  # noqa: BLE001 - no registry yet: no models
        return []
    rows = []
    for rec in records:
        checks = file_checks(rec)
        row = rec.summary()
        row.update(ref=rec.ref, verified=all(c["ok"] for c in checks), weights_sha256=rec.weights_sha256,
                   domain=domain_reference(rec.card) is not None)
        rows.append(row)
    return rows


# -- the routes ------------------------------------------------------------------------------------------
def store(request: Request):
    return request.app.state.fijax["store"]


def get_job(request: Request, job_id: str) -> Job:
    check_job_id(job_id)
    return store(request).get(job_id)


def not_found(request: Request, message: str) -> HTMLResponse:
    return render(request, "error.html", status=404, title="Not found", message=message)


def home() -> RedirectResponse:
    return RedirectResponse("/ui/jobs", status_code=303)


def static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        raise NotFoundError(f"no static file {name!r}")
    return Response(path.read_bytes(), media_type=STATIC_TYPES[path.suffix],
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


# -- login -----------------------------------------------------------------------------------------------
def login_page(request: Request, next: str | None = None):
    if request.scope.get("fijax.session") is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", title="Log in", next=safe_next(next), error="")


def login(request: Request, token: str = Form(""), next: str = Form("/ui/jobs")):
    sessions: SessionStore = request.app.state.ui_sessions
    if not sessions.token_ok(token):
        return render(request, "login.html", status=401, title="Log in", next=safe_next(next),
                      error="Wrong token. Copy it from the line 'token: …' that fijax serve printed, "
                            "or from the first line of its token file.")
    session = sessions.create()
    response = RedirectResponse(safe_next(next), status_code=303)
    response.headers["set-cookie"] = sessions.cookie_header(session, request.url.scheme == "https").decode()
    return response


def logout(request: Request, csrf: str = Form("")):
    sessions: SessionStore = request.app.state.ui_sessions
    session = request.scope.get("fijax.session")
    if session is not None:
        if not csrf or csrf != session.csrf:
            raise InputError("log out: missing or wrong CSRF field; reload the page")
        sessions.drop(session.sid)
    response = RedirectResponse("/ui/login", status_code=303)
    response.headers["set-cookie"] = sessions.cookie_header(None, request.url.scheme == "https").decode()
    return response


# -- jobs ------------------------------------------------------------------------------------------------
def jobs_page(request: Request, state: str = "", limit: int = 100):
    states = [state] if state else None
    if state and state not in ACTIVE_STATES + TERMINAL_STATES:
        raise InputError(f"unknown job state {state!r}; known: {', '.join(ACTIVE_STATES + TERMINAL_STATES)}")
    limit = max(1, min(limit, 1000))
    jobs = store(request).list(states, limit, 0)
    return render(request, "jobs.html", title="Jobs", jobs=[job_summary(j) for j in jobs], state=state, limit=limit,
                  states=ACTIVE_STATES + TERMINAL_STATES, active=ACTIVE_STATES)


def job_page(request: Request, job_id: str):
    try:
        job = get_job(request, job_id)
    except NotFoundError as exc:
        return not_found(request, str(exc))
    log = store(request).get_log(job_id)[-200:]
    return render(request, "job.html", title=f"Job {job.name} {job.id[:8]}", job=job, log=log,
                  res=result_view(job) if job.result else None, active=job.state in ACTIVE_STATES,
                  resumable=job.state in RESUMABLE_STATES,
                  options=json.dumps(job.options, indent=1, sort_keys=True, default=str))


async def preview(request: Request, job_id: str, kind: str, path: str) -> Response:
    job = get_job(request, job_id)
    if not path.endswith(".png") or kind not in ("images", "artifacts"):
        raise NotFoundError(f"no preview {kind}/{path}")
    rel = check_relative_path(path[: -len(".png")])
    if kind == "images":
        if str(rel) not in ((job.result or {}).get("images") or {}):
            raise NotFoundError(f"job {job_id} has no output image {str(rel)!r}")
        target = job.dir / "images" / f"{rel}.tif"
    else:
        root = (job.dir / "artifacts").resolve()
        target = (root / rel).resolve()
        if not target.is_relative_to(root) or target.suffix.lower() not in (".tif", ".tiff"):
            raise InputError(f"no TIFF artifact {path!r} to preview")
    if not target.is_file():
        raise NotFoundError(f"job {job_id} has no file {str(rel)!r}")
    try:
        png = await run_in_threadpool(tiff_preview_png, target, rel.name)
    except Exception as exc:  # noqa: BLE001 - an unreadable file is the file's problem, not a 500
        raise InputError(f"cannot draw a preview of {str(rel)!r}: {type(exc).__name__}: {exc}") from exc
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def view_artifact(request: Request, job_id: str, path: str) -> Response:
    """An artifact shown in the browser rather than downloaded (reports, figures, tables), sandboxed."""
    job = get_job(request, job_id)
    rel = check_relative_path(path)
    root = (job.dir / "artifacts").resolve()
    target = (root / rel).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise NotFoundError(f"job {job_id} has no artifact {path!r}")
    media = VIEW_TYPES.get(target.suffix.lower())
    if media is None:
        raise InputError(f"{path!r} cannot be shown in the browser; download it from the job's artifacts")
    return FileResponse(target, media_type=media, filename=target.name,
                        content_disposition_type="inline", headers={"Content-Security-Policy": ARTIFACT_CSP.decode(),
                                 "X-Content-Type-Options": "nosniff"})


# -- models ----------------------------------------------------------------------------------------------
async def models_page(request: Request):
    rows = await run_in_threadpool(model_rows)
    return render(request, "models.html", title="Models", models=rows)


async def model_page(request: Request, name: str, version: str):
    if not version.isdigit():
        return not_found(request, f"model version {version!r} is not a positive integer")
    try:
        reg = registry()
        rec = reg.get(f"{name}:{int(version)}")
    except (NotFoundError, InputError) as exc:
        return not_found(request, str(exc))
    checks = await run_in_threadpool(file_checks, rec)
    children = [r for r in reg.list() if (r.parent or {}).get("name") == rec.name
                and (r.parent or {}).get("version") == rec.version]
    lineage, parent = [], rec.parent
    seen = {rec.ref}
    while parent and f"{parent.get('name')}:{parent.get('version')}" not in seen:
        ref = f"{parent.get('name')}:{parent.get('version')}"
        seen.add(ref)
        try:
            prec = reg.get(ref)
            lineage.append({"ref": ref, "name": prec.name, "version": prec.version, "task": prec.task,
                            "known": True})
            parent = prec.parent
        except (NotFoundError, InputError):
            lineage.append({"ref": ref, "name": parent.get("name"), "version": parent.get("version"),
                            "task": "", "known": False})
            break
    card = rec.card
    data = card.get("data") or {}
    data_files = []
    for group in ("sources", "targets", "files"):
        items = data.get(group) or []
        if isinstance(items, dict):
            items = [{"title": k, "sha256": v} for k, v in items.items()]
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                data_files.append({"group": group, **item})
    data_facts = {k: v for k, v in data.items() if k not in ("sources", "targets", "files")}
    return render(request, "model.html", title=f"Model {rec.ref}", rec=rec, card=card, checks=checks,
                  verified=all(c["ok"] for c in checks), children=children, lineage=lineage,
                  data_files=data_files, data_facts=data_facts, domain=domain_reference(card),
                  domain_problem=domain_problem(card), intended=card.get("intended_domain") or {},
                  calibration=card.get("uncertainty_calibration") or {},
                  curve=loss_curve_svg(rec.path, card.get("log_csv") or "log.csv"),
                  config=card.get("config") or {}, metrics=card.get("metrics") or {})


# -- QC, compare, train ----------------------------------------------------------------------------------
def qc_page(request: Request):
    jobs = [j for j in store(request).list(None, 500, 0) if j.name in QC_OPS][:100]
    return render(request, "qc.html", title="QC", runs=[job_summary(j) for j in jobs])


async def compare_page(request: Request):
    rows = await run_in_threadpool(model_rows)
    sources = []
    for job in store(request).list(["succeeded"], 50, 0):
        for name, info in ((job.result or {}).get("images") or {}).items():
            if len(sources) < 60 and len(info.get("shape") or []) >= 2:
                sources.append({"url": f"/jobs/{job.id}/images/{name}",
                                "label": f"{name} ({job.name} {job.id[:8]}, {'×'.join(map(str, info['shape']))})"})
    return render(request, "compare.html", title="Compare", models=rows, classical=CLASSICAL, sources=sources)


async def train_page(request: Request):
    rows = await run_in_threadpool(model_rows)
    return render(request, "train.html", title="Train", models=rows)


#: The pages' routes: (method, path, endpoint).
ROUTES = [
    ("GET", "/", home),
    ("GET", "/ui/static/{name}", static),
    ("GET", "/ui/login", login_page),
    ("POST", "/ui/login", login),
    ("POST", "/ui/logout", logout),
    ("GET", "/ui/jobs", jobs_page),
    ("GET", "/ui/jobs/{job_id}", job_page),
    ("GET", "/ui/jobs/{job_id}/preview/{kind}/{path:path}", preview),
    ("GET", "/ui/jobs/{job_id}/view/{path:path}", view_artifact),
    ("GET", "/ui/models", models_page),
    ("GET", "/ui/models/{name}/{version}", model_page),
    ("GET", "/ui/qc", qc_page),
    ("GET", "/ui/compare", compare_page),
    ("GET", "/ui/train", train_page),
]


def make_router() -> APIRouter:
    """Routes of the pages (``/``, ``/ui/...``); the session middleware guards them."""
    router = APIRouter(include_in_schema=False)
    for method, path, endpoint in ROUTES:
        router.add_api_route(path, endpoint, methods=[method])
    return router
