"""The FastAPI application: a thin HTTP face over the operations table, macros and jobs.

Every operation registered in :mod:`fijax.ops` (and in ``extra_op_modules``) is served at
``POST /ops/<name>`` with its image inputs as multipart TIFF parts named after the inputs and
its options as a JSON object in the ``options`` part. Short operations answer when done
(``200``); long-running ones (``Operation.long_running``, e.g. training) answer ``202`` with
a job to follow through ``/jobs/<id>``. See ``docs/server.md`` for the whole protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import mimetypes
import os
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import tifffile
from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from fijax import __version__
from fijax.errors import InputError, MacroError, NotFoundError
from fijax.io.atomic import atomic_path
from fijax.io.names import check_relative_path, check_title, safe_name
from fijax.io.tiff import check_decoded_size
from fijax.paths import fijax_home
from fijax.registry.jobs import Job, JobStore, check_job_id, jsonable, new_job_id
from fijax.server.security import GuardMiddleware, UploadTooLarge, new_token
from fijax.server.supervisor import Supervisor
from fijax.server.worker import import_modules

log = logging.getLogger(__name__)


class LimitError(InputError):
    """An upload beyond a size or pixel limit (HTTP 413)."""


class ForbiddenError(InputError):
    """A request for something this server is configured not to do (HTTP 403)."""


@dataclass
class ServerConfig:
    """Settings of one server process (``fijax serve`` flags)."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: str = field(default_factory=new_token)
    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    max_upload_bytes: int = 512 * 1024 * 1024
    max_pixels: int = 1 << 28
    max_decoded_bytes: int | None = None  # None: 1 GiB and the decompression-bomb ratio check

    @property
    def decoded_limit(self) -> int:
        """Largest decoded pixel data per request (and per image), in bytes."""
        return self.max_decoded_bytes or 1 << 30
    max_files: int = 32
    outputs: Path | None = None
    allow_macros: bool = True
    workers: int = 1
    timeout: float = 600.0
    job_timeout: float | None = None
    kill_grace: float = 10.0
    jobs_dir: Path | None = None
    db_path: Path | None = None
    extra_op_modules: tuple[str, ...] = ()
    preload_imagej: bool = False
    warm: bool = True
    warm_shapes: tuple[tuple[int, int], ...] = ()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


STATUS_BY_ERROR = {"input": 400, "not_found": 404, "macro": 422, "cancelled": 409, "timeout": 504,
                   "worker": 503, "interrupted": 503, "internal": 500}


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": message, **jsonable(extra)}, status_code=status)


def job_view(job: Job) -> dict[str, Any]:
    """A job as the API shows it: the row plus download URLs for its images and artifacts."""
    out = job.to_dict()
    base = f"/jobs/{job.id}"
    out["url"] = base
    result = out.get("result")
    if result:
        for name, info in (result.get("images") or {}).items():
            info["url"] = f"{base}/images/{name}"
        result["files"] = {key: {"path": rel, "url": f"{base}/artifacts/{rel}"}
                           for key, rel in (result.get("files") or {}).items()}
        if result.get("table"):
            result["table_csv"] = f"{base}/table.csv"
    return out


#: The OpenAPI form of ``POST /macro``.
_MACRO_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["code"],
    "properties": {"code": {"type": "string", "description": "ImageJ macro text"},
                   "params": {"type": "string", "description": "JSON object: values of the macro's "
                              "#@ script parameters, e.g. {\"radius\": 2, \"suffix\": \".tif\"}"},
                   "images": {"type": "array", "items": {"type": "string", "format": "binary"},
                              "description": "TIFF images opened before the macro runs; the file "
                                             "name (without .tif) is the image title"}}}}}}}


def _macro_params(raw: Any) -> dict[str, Any]:
    """The ``params`` of a macro request (a JSON object, or its text in a form field): name -> value."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise InputError(f"macro: 'params' must be a JSON object of parameter values ({exc})") from None
    if not isinstance(raw, dict) or not all(isinstance(v, str | int | float | bool) for v in raw.values()):
        raise InputError("macro: 'params' must be a JSON object mapping #@ parameter names to strings, numbers "
                         "or booleans")
    return {str(k): v for k, v in raw.items()}


def _check_tiff(path: Path, label: str, max_pixels: int, max_bytes: int | None = None,
                ratio_check: bool = True) -> tuple[list[int], int]:
    """Check that ``path`` is a TIFF within the pixel and decoded-size limits, reading only its header.

    Returns the shape and the declared decoded size in bytes.
    """
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            shape = list(series.shape)
            nbytes = math.prod(shape) * series.dtype.itemsize
    except Exception as exc:  # noqa: BLE001 - any failure to parse is bad input, never a 500
        raise InputError(f"{label}: not a readable TIFF file ({type(exc).__name__}: {exc})") from exc
    pixels = math.prod(shape)
    if pixels > max_pixels:
        raise LimitError(f"{label}: {pixels} pixels exceed the server's limit of {max_pixels}")
    if pixels == 0:
        raise InputError(f"{label}: the image is empty (shape {shape})")
    if max_bytes is not None:
        try:
            check_decoded_size(label, nbytes, path.stat().st_size, max_bytes, ratio_check=ratio_check,
                               hint="'fijax serve --max-decoded-mb'")
        except InputError as exc:
            raise LimitError(str(exc)) from None
    return shape, nbytes


#: Microscopy formats accepted as uploads besides TIFF (kept under their own extension; read through bioio).
UPLOAD_FORMATS = (".ome.tif", ".ome.tiff", ".czi", ".nd2", ".lif")


def _upload_suffix(upload: UploadFile) -> str:
    """The extension an upload is stored under: its microscopy format's, else ``.tif``."""
    from fijax.io.microscopy import kind_of

    kind = kind_of(upload.filename or "")
    return kind if kind in UPLOAD_FORMATS else ".tif"


def _check_microscopy(path: Path, label: str, max_pixels: int) -> list[int]:
    """Check that ``path`` is a CZI/ND2/LIF file bioio reads, within the pixel limit (metadata only)."""
    from fijax.io.microscopy import _open_bioimage, kind_of

    try:
        shape = [int(n) for n in _open_bioimage(path, kind_of(path)).shape]
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - any failure to parse is bad input, never a 500
        raise InputError(f"{label}: not a readable {kind_of(path)} file ({type(exc).__name__}: {exc})") from exc
    pixels = math.prod(shape)
    if pixels > max_pixels:
        raise LimitError(f"{label}: {pixels} pixels exceed the server's limit of {max_pixels}")
    if pixels == 0:
        raise InputError(f"{label}: the image is empty (shape {shape})")
    return shape


def _save_upload(upload: UploadFile, target: Path, label: str, max_pixels: int,
                 max_bytes: int | None = None, ratio_check: bool = True) -> tuple[list[int], int]:
    """Store an uploaded image in the job folder, atomically (temporary file, then rename).

    Not fsynced, unlike :func:`fijax.io.atomic_path`: an fsync per input cost ~5-10 ms per request,
    and after a power loss a torn input is only refused as a malformed TIFF when the job is resumed.
    """
    upload.file.seek(0)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as fh:
            shutil.copyfileobj(upload.file, fh, 1 << 20)
        os.chmod(tmp, 0o600)  # job inputs are the user's data: owner-only, like the rest of $FIJAX_HOME
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    if target.suffix.lower() in (".tif", ".tiff"):  # TIFF and OME-TIFF
        return _check_tiff(target, label, max_pixels, max_bytes, ratio_check)
    shape = _check_microscopy(target, label, max_pixels)
    return shape, math.prod(shape)  # bioio reads no dtype from the header: at least one byte a pixel


def _save_uploads(uploads: dict[str, UploadFile], folder: Path, config: ServerConfig) -> dict[str, str]:
    """Save every upload as ``inputs/<name>.tif`` under ``folder`` within the pixel and decoded-size limits.

    Returns ``{input name: relative path}``; the decoded bytes of all images together are capped too.
    """
    files: dict[str, str] = {}
    taken: set[str] = set()
    decoded = 0
    for key, upload in uploads.items():
        rel = f"inputs/{safe_name(key, taken)}{_upload_suffix(upload)}"
        _, nbytes = _save_upload(upload, folder / rel, f"image {key!r}", config.max_pixels, config.decoded_limit,
                                 config.max_decoded_bytes is None)
        decoded += nbytes
        if decoded > config.decoded_limit:
            raise LimitError(f"the request's images declare {decoded / (1 << 20):.0f} MiB of decoded pixels "
                             f"together, more than the server's limit of {config.decoded_limit / (1 << 20):.0f} "
                             "MiB per request")
        files[key] = rel
    return files


def _parse_options(raw: Any) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, UploadFile):
        raw.file.seek(0)
        raw = raw.file.read(1 << 20).decode("utf-8", "replace")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"options: malformed JSON ({exc})") from exc
    except RecursionError:
        raise InputError("options: JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise InputError("options: expected a JSON object such as {\"sigma\": 2}")
    return value


def _warming(config: ServerConfig) -> dict[str, Any]:
    """The workers' kernel-warming settings (see :func:`fijax.server.worker.worker_main`)."""
    return {"warm": config.warm, "warm_shapes": list(config.warm_shapes)}


def create_app(config: ServerConfig) -> FastAPI:
    """Build the application for ``config`` (workers start with the app's lifespan)."""
    from fijax import ops as ops_pkg

    import_modules(list(config.extra_op_modules))
    op_table = ops_pkg.load_all()
    jobs_dir = Path(config.jobs_dir or fijax_home() / "jobs")
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = JobStore(jobs_dir, config.db_path)
        interrupted = store.recover()
        if interrupted:
            log.warning("marked %d job(s) interrupted: %s", len(interrupted), ", ".join(interrupted))
        supervisor = Supervisor(store, config.workers, config.kill_grace, list(config.extra_op_modules),
                                preload_imagej=config.preload_imagej and config.allow_macros, **_warming(config))
        supervisor.start()
        state.update(store=store, supervisor=supervisor, started=time.time())
        try:
            yield
        finally:
            await run_in_threadpool(supervisor.stop)
            store.close()

    app = FastAPI(title="fijax", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Headless fijax server: operations, ImageJ macros, jobs and models. Every "
                              "request except GET /health needs 'Authorization: token <token>'.")
    app.state.config = config
    app.state.fijax = state

    def store() -> JobStore:
        return state["store"]

    def supervisor() -> Supervisor:
        return state["supervisor"]

    # -- errors: bad input is always a 4xx with a message, never a 500 ---------------------
    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(InputError)
    async def _bad_input(request: Request, exc: InputError) -> JSONResponse:
        status = 413 if isinstance(exc, LimitError) else 403 if isinstance(exc, ForbiddenError) else 400
        return _error(status, str(exc))

    @app.exception_handler(MacroError)
    async def _macro(request: Request, exc: MacroError) -> JSONResponse:
        return _error(422, str(exc), line=exc.line)

    @app.exception_handler(UploadTooLarge)
    async def _too_large(request: Request, exc: UploadTooLarge) -> JSONResponse:
        return _error(413, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    # -- service ---------------------------------------------------------------------------
    @app.get("/health", summary="Liveness probe (no token needed)")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/info", summary="Server settings, versions, workers and operations")
    def info() -> dict[str, Any]:
        from fijax.versions import library_versions

        return {
            "version": __version__, "versions": library_versions(), "started": state.get("started"),
            "macros_enabled": config.allow_macros, "operations": sorted(op_table),
            "outputs_root": bool(config.outputs),
            "limits": {"max_upload_bytes": config.max_upload_bytes, "max_pixels": config.max_pixels,
                       "max_decoded_bytes": config.decoded_limit,
                       "max_files": config.max_files, "timeout": config.timeout,
                       "job_timeout": config.job_timeout, "kill_grace": config.kill_grace},
            "workers": supervisor().status(), "queued": supervisor().queued(),
        }

    # -- operations ------------------------------------------------------------------------
    def describe(op) -> dict[str, Any]:
        return {"name": op.name, "summary": op.summary, "inputs": list(op.inputs),
                "optional_inputs": list(op.optional_inputs), "long_running": op.long_running,
                "options_schema": op.options.model_json_schema()}

    @app.get("/ops", summary="List the operations with their inputs and option schemas")
    def list_ops() -> list[dict[str, Any]]:
        return [describe(op_table[name]) for name in sorted(op_table)]

    @app.get("/ops/{name}", summary="Describe one operation")
    def show_op(name: str) -> dict[str, Any]:
        if name not in op_table:
            raise NotFoundError(f"unknown operation {name!r}; known: {', '.join(sorted(op_table)) or 'none'}")
        return describe(op_table[name])

    async def accept(uploads: dict[str, UploadFile], kind: str, name: str, options: dict[str, Any],
                     long_running: bool, code: str | None = None, settings: dict[str, Any] | None = None) -> Job:
        """Save the uploads (checked TIFFs) in a new job folder and insert the job; on failure leave nothing."""
        job_id = new_job_id()
        folder = jobs_dir / job_id
        try:
            files = await run_in_threadpool(_save_uploads, uploads, folder, config)
            if code is not None:
                with atomic_path(folder / "macro.ijm") as tmp:
                    tmp.write_text(code)
            return store().create(kind, name, options, files, long_running, job_id=job_id, settings=settings)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def payload_for(job: Job) -> dict[str, Any]:
        """The worker's task for a job row (new or resumed): everything is in the row and its folder."""
        payload = {"job_id": job.id, "kind": job.kind, "name": job.name, "options": job.options,
                   "inputs": {k: str(job.dir / rel) for k, rel in job.inputs.items()}, "dir": str(job.dir),
                   "artifacts": job.settings.get("artifacts", True),
                   "output_root": str(config.outputs) if config.outputs else None,
                   "max_decoded_bytes": config.decoded_limit}
        if job.kind == "macro":
            payload["code"] = (job.dir / "macro.ijm").read_text()
        return payload

    async def submit(job: Job, payload: dict[str, Any], wait: bool, timeout: float | None) -> Response:
        future = supervisor().submit(job, payload, timeout)
        if not wait:
            return JSONResponse(job_view(job), status_code=202, headers={"Location": f"/jobs/{job.id}"})
        final: Job = await asyncio.wrap_future(future)
        view = job_view(final)
        if final.state == "succeeded":
            return JSONResponse(view)
        status = STATUS_BY_ERROR.get(final.error_kind or "", 500)
        return _error(status, final.error or final.state, job=view)

    async def read_form(request: Request):
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            body = await request.body()
            return None, _parse_options(body.decode("utf-8", "replace"))
        form = await request.form(max_files=config.max_files, max_fields=64, max_part_size=4 << 20)
        return form, None

    async def run_op(request: Request, name: str, wait: bool | None, timeout: float | None,
                     artifacts: bool = True) -> Response:
        if name not in op_table:
            raise NotFoundError(f"unknown operation {name!r}; known: {', '.join(sorted(op_table)) or 'none'}")
        op = op_table[name]
        form, options = await read_form(request)
        uploads: dict[str, UploadFile] = {}
        if form is not None:
            options = _parse_options(form.get("options"))
            allowed = op.inputs + op.optional_inputs
            for key, value in form.multi_items():
                if key == "options":
                    continue
                if key not in allowed:
                    raise InputError(f"{name!r} takes no input named {key!r}; inputs: {', '.join(allowed) or 'none'}")
                if not isinstance(value, UploadFile):
                    raise InputError(f"input {key!r} must be a file part (a TIFF image), not a text field")
                if key in uploads:
                    raise InputError(f"input {key!r} given twice")
                uploads[key] = value
        missing = [k for k in op.inputs if k not in uploads]
        if missing:
            raise InputError(f"{name!r} needs input image(s): {', '.join(missing)} (multipart TIFF parts)")
        parsed = op.parse_options(options)  # InputError → 400 before anything is queued
        options = parsed.model_dump(mode="json")
        job = await accept(uploads, "op", name, options, op.long_running, settings={"artifacts": artifacts or op.long_running})
        soft = timeout or (config.job_timeout if op.long_running else config.timeout)
        return await submit(job, payload_for(job), (not op.long_running) if wait is None else wait, soft)

    def op_body_schema(op) -> dict[str, Any]:
        props: dict[str, Any] = {k: {"type": "string", "format": "binary", "description": "TIFF image"}
                                 for k in op.inputs + op.optional_inputs}
        props["options"] = {"type": "string", "description": "JSON object of options; schema: "
                            + json.dumps(op.options.model_json_schema())}
        schema = {"type": "object", "properties": props, "required": list(op.inputs)}
        return {"requestBody": {"required": bool(op.inputs),
                                "content": {"multipart/form-data": {"schema": schema}}}}

    wait_q = Query(None, description="wait for the result (default: yes, except for long-running operations)")
    timeout_q = Query(None, gt=0, le=7 * 86400, description="soft timeout in seconds for this job")
    artifacts_q = Query(True, description="give the operation an artifacts folder (CSV, maps, figures); "
                                          "false skips those files for a faster answer")

    def make_op_endpoint(op_name: str):
        async def endpoint(request: Request, wait: bool | None = wait_q, timeout: float | None = timeout_q,
                           artifacts: bool = artifacts_q):
            return await run_op(request, op_name, wait, timeout, artifacts)
        return endpoint

    for op_name in sorted(op_table):
        op = op_table[op_name]
        app.add_api_route(f"/ops/{op_name}", make_op_endpoint(op_name), methods=["POST"], name=f"op_{op_name}",
                          summary=op.summary or op_name, tags=["operations"], openapi_extra=op_body_schema(op),
                          responses={200: {"description": "finished job with its result"},
                                     202: {"description": "queued job (long-running)"},
                                     400: {"description": "bad input"}, 413: {"description": "too large"}})

    @app.post("/ops/{name}", summary="Run an operation by name (404 for unknown names)", include_in_schema=False)
    async def run_any_op(request: Request, name: str, wait: bool | None = wait_q,
                         timeout: float | None = timeout_q, artifacts: bool = artifacts_q) -> Response:
        return await run_op(request, name, wait, timeout, artifacts)

    # -- macros ----------------------------------------------------------------------------
    @app.post("/macro", summary="Run an ImageJ macro on uploaded images (privileged)", tags=["macros"],
              openapi_extra=_MACRO_BODY)
    async def run_macro(request: Request, wait: bool = True, timeout: float | None = timeout_q) -> Response:
        if not config.allow_macros:
            raise ForbiddenError("macro execution is disabled on this server (it was started with --no-macros)")
        form, options = await read_form(request)
        code = (options or {}).get("code") if form is None else form.get("code")
        params = _macro_params((options or {}).get("params") if form is None else form.get("params"))
        if isinstance(code, UploadFile):
            code.file.seek(0)
            code = code.file.read(1 << 20).decode("utf-8", "replace")
        if not isinstance(code, str) or not code.strip():
            raise InputError("macro: the 'code' field with the macro text is missing or empty")
        uploads = []
        if form is not None:
            for key, value in form.multi_items():
                if key in ("code", "params"):
                    continue
                if key != "images" or not isinstance(value, UploadFile):
                    raise InputError(f"macro: unexpected field {key!r}; send 'code', 'params' and 'images' file parts")
                uploads.append((check_title(value.filename), value))
        titles = [t for t, _ in uploads]
        if len(set(titles)) != len(titles):
            raise InputError("macro: two images have the same title")
        if len(code) > 1 << 20:
            raise LimitError("macro: the code is longer than 1 MiB")
        job = await accept(dict(uploads), "macro", "macro", {"params": params} if params else {}, False, code=code)
        return await submit(job, payload_for(job), wait, timeout or config.timeout)

    # -- FiJAX commands for a desktop Fiji (the shim's HTTP transport) --------------------
    def command_table():
        try:
            from fijax.bridge import commands

            return commands, commands.load_all()
        except Exception as exc:  # noqa: BLE001 - no bridge here: commands are simply not served
            raise NotFoundError(f"FiJAX macro commands are not available on this server ({exc})") from exc

    async def read_parts(request: Request, text_fields: tuple[str, ...]) -> tuple[dict[str, list[str]],
                                                                                  dict[str, UploadFile]]:
        form, _ = await read_form(request)
        texts: dict[str, list[str]] = {k: [] for k in text_fields}
        uploads: dict[str, UploadFile] = {}
        for key, value in (form.multi_items() if form is not None else []):
            if key in text_fields:
                if isinstance(value, UploadFile):
                    raise InputError(f"field {key!r} must be text, not a file")
                texts[key].append(value)
            elif isinstance(value, UploadFile):
                if key in uploads:
                    raise InputError(f"image {key!r} given twice")
                uploads[key] = value
            else:
                raise InputError(f"unexpected text field {key!r}; text fields: {', '.join(text_fields)}")
        return texts, uploads

    @app.get("/commands", summary="FiJAX macro commands, call() functions and operations (for the shim's HTTP "
                                  "transport)", tags=["commands"])
    def list_commands() -> dict[str, Any]:
        commands, table = command_table()
        return {"commands": [{"label": c.label, "inputs": list(c.inputs), "optional_inputs": list(c.optional_inputs),
                              "required": list(c.required), "summary": c.summary, "op": c.op}
                             for c in sorted(table.values(), key=lambda c: c.label)],
                "functions": sorted(commands.functions()),
                "operations": {n: list(op.inputs + op.optional_inputs) for n, op in sorted(op_table.items())}}

    command_body = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["command"],
        "properties": {"command": {"type": "string", "description": "command label, e.g. 'FiJAX Gaussian'"},
                       "options": {"type": "string", "description": "macro options, e.g. 'sigma=2 output=blurred'"}},
        "additionalProperties": {"type": "string", "format": "binary",
                                 "description": "input images (TIFF) named by their option key"}}}}}}

    @app.post("/commands/run", summary="Run a FiJAX macro command on TIFF images (desktop Fiji)", tags=["commands"],
              openapi_extra=command_body)
    async def run_command(request: Request, timeout: float | None = timeout_q) -> Response:
        commands, table = command_table()
        texts, uploads = await read_parts(request, ("command", "options"))
        if len(texts["command"]) != 1 or len(texts["options"]) > 1:
            raise InputError("send exactly one 'command' field (and at most one 'options' field)")
        label, raw = texts["command"][0], (texts["options"] or [""])[0]
        if label not in table:
            raise NotFoundError(f"unknown FiJAX command {label!r}; known: {', '.join(sorted(table)) or 'none'}")
        cmd = table[label]
        commands.split_call(cmd, raw)  # bad options → 400 before anything is queued
        unknown = [k for k in uploads if k not in cmd.inputs]
        if unknown:
            raise InputError(f"{label}: no image option {unknown[0]!r}; image options: {', '.join(cmd.inputs) or 'none'}")
        job = await accept(uploads, "command", label, {"options": raw}, False)
        return await submit(job, payload_for(job), True, timeout or config.timeout)

    call_body = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["function"],
        "properties": {"function": {"type": "string"},
                       "args": {"type": "array", "items": {"type": "string"}, "description": "string arguments"}},
        "additionalProperties": {"type": "string", "format": "binary",
                                 "description": "input images (TIFF) named by the operation's input names"}}}}}}

    @app.post("/commands/call", summary="Evaluate a macro call(\"fijax.ij.Bridge.call\", ...) (desktop Fiji)",
              tags=["commands"], openapi_extra=call_body)
    async def call_function(request: Request, timeout: float | None = timeout_q) -> Response:
        commands, _ = command_table()
        texts, uploads = await read_parts(request, ("function", "args"))
        if len(texts["function"]) != 1:
            raise InputError("send exactly one 'function' field")
        function = texts["function"][0]
        if function not in commands.functions():
            if function not in op_table:
                raise NotFoundError(f"unknown function {function!r} for call(); known: "
                                    f"{', '.join(sorted(commands.functions()))} and the operations "
                                    f"{', '.join(sorted(op_table))}")
            op = op_table[function]
            unknown = [k for k in uploads if k not in op.inputs + op.optional_inputs]
            if unknown:
                raise InputError(f"{function!r} takes no image {unknown[0]!r}")
        job = await accept(uploads, "call", function, {"args": texts["args"]}, False)
        return await submit(job, payload_for(job), True, timeout or config.timeout)

    # -- jobs ------------------------------------------------------------------------------
    @app.get("/jobs", summary="List jobs, newest first", tags=["jobs"])
    def list_jobs(state_: Annotated[list[str] | None, Query(alias="state")] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  offset: Annotated[int, Query(ge=0, le=1 << 31)] = 0) -> list[dict[str, Any]]:
        return [job_view(j) for j in store().list(state_, limit, offset)]

    @app.get("/jobs/{job_id}", summary="Status, progress and result of a job", tags=["jobs"])
    def get_job(job_id: str) -> dict[str, Any]:
        return job_view(store().get(job_id))

    @app.delete("/jobs/{job_id}", summary="Delete a finished job and its files", tags=["jobs"])
    def delete_job(job_id: str) -> dict[str, Any]:
        job = store().get(job_id)
        store().delete(job_id)
        shutil.rmtree(job.dir, ignore_errors=True)
        return {"deleted": job_id}

    @app.post("/jobs/{job_id}/cancel", summary="Cancel a queued or running job", tags=["jobs"])
    def cancel_job(job_id: str) -> dict[str, Any]:
        check_job_id(job_id)
        return job_view(supervisor().cancel(job_id))

    @app.post("/jobs/{job_id}/resume", summary="Queue an interrupted/failed/cancelled job again", tags=["jobs"],
              status_code=202)
    def resume_job(job_id: str) -> dict[str, Any]:
        job = store().get(job_id)
        if job.kind == "op" and job.name not in op_table:
            raise NotFoundError(f"job {job_id} ran operation {job.name!r}, which this server does not have")
        if job.kind == "macro" and not config.allow_macros:
            raise ForbiddenError("macro execution is disabled on this server (it was started with --no-macros)")
        job = store().requeue(job_id)
        if job.kind == "op" and "resume" in op_table[job.name].options.model_fields and not job.options.get("resume"):
            # Operations with a `resume` option (training) continue their interrupted run.
            store().set_options(job_id, {**job.options, "resume": True})
            job = store().get(job_id)
        store().log(job_id, "resumed")
        soft = config.job_timeout if job.long_running else config.timeout
        supervisor().submit(job, payload_for(job), soft)
        return job_view(job)

    @app.get("/jobs/{job_id}/log", summary="Log lines of a job", tags=["jobs"])
    def job_log(job_id: str, since: Annotated[float, Query(ge=0, le=1e12)] = 0.0) -> list[dict[str, Any]]:
        return store().get_log(job_id, since)

    @app.get("/jobs/{job_id}/events", summary="Server-sent events: progress until the job ends", tags=["jobs"],
             response_class=StreamingResponse)
    async def job_events(job_id: str, request: Request, interval: Annotated[float, Query(ge=0.05, le=10)] = 0.2):
        await run_in_threadpool(store().get, job_id)

        async def stream() -> AsyncIterator[str]:
            last = None
            while True:
                job = await run_in_threadpool(store().get, job_id)
                snap = (job.state, round(job.progress, 4), job.message)
                if snap != last:
                    last = snap
                    data = {"id": job.id, "state": job.state, "progress": job.progress, "message": job.message}
                    yield f"event: progress\ndata: {json.dumps(jsonable(data))}\n\n"
                if job.done:
                    yield f"event: end\ndata: {json.dumps(job_view(job))}\n\n"
                    return
                if await request.is_disconnected():
                    return
                await asyncio.sleep(interval)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    def job_result(job_id: str) -> tuple[Job, dict[str, Any]]:
        job = store().get(job_id)
        if job.state != "succeeded" or not job.result:
            raise NotFoundError(f"job {job_id} has no result (state: {job.state})")
        return job, job.result

    @app.get("/jobs/{job_id}/images/{name}", summary="An output image as an ImageJ TIFF", tags=["jobs"],
             response_class=FileResponse)
    def job_image(job_id: str, name: str):
        job, result = job_result(job_id)
        if name not in (result.get("images") or {}):
            raise NotFoundError(f"job {job_id} has no output image {name!r}; images: "
                                f"{', '.join(result.get('images') or {}) or 'none'}")
        path = job.dir / "images" / f"{name}.tif"
        if not path.is_file():
            raise NotFoundError(f"image {name!r} of job {job_id} is gone from disk")
        return FileResponse(path, media_type="image/tiff", filename=f"{name}.tif")

    @app.get("/jobs/{job_id}/table.csv", summary="The job's results table as CSV", tags=["jobs"])
    def job_table(job_id: str) -> Response:
        _, result = job_result(job_id)
        from fijax.io.table import csv_text

        return Response(csv_text(result.get("table") or []), media_type="text/csv")

    @app.get("/jobs/{job_id}/artifacts", summary="Files a job wrote (CSV, TIFF maps, figures, reports)",
             tags=["jobs"])
    def job_artifacts(job_id: str) -> list[dict[str, Any]]:
        return store().get(job_id).artifacts()

    @app.get("/jobs/{job_id}/artifacts/{path:path}", summary="Download one artifact", tags=["jobs"],
             response_class=FileResponse)
    def job_artifact(job_id: str, path: str):
        job = store().get(job_id)
        rel = check_relative_path(path)
        root = (job.dir / "artifacts").resolve()
        target = (root / rel).resolve()
        if not target.is_relative_to(root):
            raise InputError(f"file path {path!r} is not allowed (outside the job's artifacts)")
        if not target.is_file():
            raise NotFoundError(f"job {job_id} has no artifact {path!r}")
        media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return FileResponse(target, media_type=media, filename=target.name)

    # -- models ----------------------------------------------------------------------------
    from fijax.server import models as models_api

    models_api.add_routes(app)

    # Last added is outermost: CORS (only when configured) must answer preflights before the guard.
    app.add_middleware(GuardMiddleware, token=config.token, allowed_hosts=config.allowed_hosts,
                       max_body=config.max_upload_bytes)
    from fijax.server.ui import install as install_ui  # browser pages; their session layer wraps the guard

    install_ui(app, config)
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type"])
    return app
