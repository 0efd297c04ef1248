"""Python client of the fijax HTTP server (``fijax serve``).

Example
-------
>>> from fijax.client import Client
>>> c = Client.from_token_file()                     # or Client("http://127.0.0.1:8765", token)
>>> res = c.run("puredenoise", {"image": noisy}, {"cycle_spins": 4})
>>> res.images["denoised"].data, res.values, res.table
>>> job = c.run("train", {...}, wait=False)          # long-running: a job
>>> for event in c.events(job.id): print(event["progress"])
>>> c.macro('run("Gaussian Blur...", "sigma=2");', {"cells": image}).images

Errors come back as :class:`ServerError` carrying the HTTP status and the server's message;
4xx statuses (bad input) raise :class:`ClientInputError`, a subclass of
:class:`fijax.errors.InputError`.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from fijax.errors import FijaxError, InputError
from fijax.io import Image, atomic_path, read_tiff


class ServerError(FijaxError):
    """The server answered with an error status."""

    def __init__(self, status: int, message: str, job: dict | None = None):
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message, self.job = status, message, job


class ClientInputError(ServerError, InputError):
    """The server refused the request as bad input (HTTP 4xx)."""


@dataclass
class JobResult:
    """A finished (or queued) job: state, values, table, output images and artifact names."""

    id: str
    state: str
    job: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    table: list[dict[str, Any]] = field(default_factory=list)
    images: dict[str, Image] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    log: str = ""


def _tiff_bytes(image: Image | np.ndarray) -> bytes:
    """Encode an image as an ImageJ TIFF in memory, with the metadata :func:`fijax.io.write_tiff` writes.

    In memory because a temporary file (created, fsynced, renamed) cost ~10 ms per image, a
    fifth of a small request's budget.
    """
    import tifffile

    from fijax.io.tiff import _imagej_dtype

    if not isinstance(image, Image):
        image = Image(np.asarray(image))
    kwargs: dict[str, Any] = {"imagej": True, "metadata": {"axes": image.axes}}
    if image.pixel_size is not None:
        pz, py, px = image.pixel_size
        kwargs["resolution"] = (1.0 / px, 1.0 / py)
        kwargs["metadata"].update(spacing=pz, unit=image.unit or "pixel")
    buf = io.BytesIO()
    tifffile.imwrite(buf, _imagej_dtype(image.data), **kwargs)
    return buf.getvalue()


def _as_upload(value: Image | np.ndarray | str | os.PathLike) -> bytes:
    if isinstance(value, str | os.PathLike):
        return Path(value).read_bytes()
    return _tiff_bytes(value)


def _upload_name(name: str, value: Image | np.ndarray | str | os.PathLike) -> str:
    """The file name an input is uploaded under: ``NAME.tif``, or ``NAME.czi`` ... for a microscopy file."""
    if isinstance(value, str | os.PathLike):
        from fijax.io.microscopy import kind_of

        kind = kind_of(value)
        if kind in (".ome.tif", ".ome.tiff", ".czi", ".nd2", ".lif"):
            return f"{name}{kind}"
    return f"{name}.tif"


class Client:
    """Talk to a running fijax server.

    Parameters
    ----------
    url : str
        Base URL, e.g. ``http://127.0.0.1:8765``.
    token : str
        The server's token (printed at start, and in its token file).
    timeout : float
        Seconds to wait for an answer (operations answer when done: allow for their run time).
    """

    def __init__(self, url: str, token: str, timeout: float = 600.0):
        self.url = url.rstrip("/")
        self.token = token
        self._http = httpx.Client(base_url=self.url, headers={"Authorization": f"token {token}"},
                                  timeout=httpx.Timeout(timeout, connect=10.0))

    @classmethod
    def from_token_file(cls, path: str | os.PathLike | None = None, **kwargs: Any) -> Client:
        """Connect with the URL and token ``fijax serve`` wrote (default ``$FIJAX_HOME/server.token``)."""
        from fijax.paths import fijax_home
        from fijax.server.security import read_token_file

        token, url = read_token_file(path or fijax_home() / "server.token")
        if not url:
            raise InputError(f"token file {path} holds no server URL")
        return cls(url, token, **kwargs)

    @classmethod
    def wait_for_server(cls, token_file: str | os.PathLike, *, wait_s: float = 60.0, process=None,
                        poll: float = 0.1, **kwargs: Any) -> Client:
        """Wait until a just-started ``fijax serve`` wrote ``token_file`` and answers ``/health``.

        Parameters
        ----------
        token_file : path-like
            The ``--token-file`` the server was started with.
        wait_s : float
            Seconds to wait before giving up.
        process : subprocess.Popen, optional
            The server process: if it exits while waiting, fail at once with its exit code.
        poll : float
            Seconds between checks.
        **kwargs
            Passed to the :class:`Client` (e.g. ``timeout``).

        Raises
        ------
        FijaxError
            When the server exits or does not answer within ``timeout``.
        """
        from fijax.server.security import read_token_file

        token_file = Path(token_file)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise FijaxError(f"the server exited with code {process.returncode} before answering")
            if token_file.exists():
                token, url = read_token_file(token_file)
                try:
                    if url and httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        return cls(url, token, **kwargs)
                except httpx.HTTPError:
                    pass
            time.sleep(poll)
        raise FijaxError(f"no fijax server answered within {wait_s:g} s (token file {token_file})")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
                message, job = body.get("detail", response.text), body.get("job")
            except ValueError:
                message, job = response.text, None
            error = ClientInputError if response.status_code < 500 else ServerError
            raise error(response.status_code, str(message), job)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    # -- service ----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._json("GET", "/health")

    def info(self) -> dict[str, Any]:
        return self._json("GET", "/info")

    def ops(self) -> list[dict[str, Any]]:
        return self._json("GET", "/ops")

    def openapi(self) -> dict[str, Any]:
        return self._json("GET", "/openapi.json")

    # -- operations and macros ----------------------------------------------------------------
    def run(self, op: str, inputs: Mapping[str, Image | np.ndarray | str | os.PathLike] | None = None,
            options: Mapping[str, Any] | None = None, *, wait: bool | None = None,
            timeout: float | None = None, fetch_images: bool = True, artifacts: bool = True) -> JobResult:
        """Run operation ``op`` on ``inputs`` (images, arrays or TIFF paths by input name).

        ``artifacts=False`` runs the operation without an artifacts folder (no CSV, maps or
        figures written: a faster answer when only values and the table are needed).

        ``wait=None`` waits for short operations and returns the queued job of long-running
        ones (follow it with :meth:`wait`, :meth:`events`).
        """
        files = [(name, (_upload_name(name, value), _as_upload(value), "image/tiff"))
                 for name, value in (inputs or {}).items()]
        params = {}
        if wait is not None:
            params["wait"] = "true" if wait else "false"
        if timeout is not None:
            params["timeout"] = str(timeout)
        if not artifacts:
            params["artifacts"] = "false"
        data = {"options": json.dumps(dict(options or {}))}
        job = self._json("POST", f"/ops/{op}", files=files or None, data=data, params=params)
        return self._result(job, fetch_images)

    def macro(self, code: str, images: Mapping[str, Image | np.ndarray | str | os.PathLike] | None = None, *,
              timeout: float | None = None, fetch_images: bool = True,
              params: Mapping[str, str | int | float | bool] | None = None) -> JobResult:
        """Run an ImageJ macro with ``images`` (by title) open; returns images, Results rows and log.

        ``params`` gives the values of the macro's ``#@`` script parameters; its ``#@output`` values
        come back in :attr:`JobResult.values`, its other tables and ROI set in :attr:`JobResult.files`.
        """
        files = [("images", (_upload_name(title, value), _as_upload(value), "image/tiff"))
                 for title, value in (images or {}).items()]
        query = {"timeout": str(timeout)} if timeout is not None else {}
        data = {"code": code}
        if params:
            data["params"] = json.dumps(dict(params))
        job = self._json("POST", "/macro", files=files or None, data=data, params=query)
        return self._result(job, fetch_images)

    def _result(self, job: dict[str, Any], fetch_images: bool) -> JobResult:
        res = job.get("result") or {}
        out = JobResult(id=job["id"], state=job["state"], job=job, values=res.get("values") or {},
                        table=res.get("table") or [],
                        files={k: v["path"] for k, v in (res.get("files") or {}).items()})
        if fetch_images:
            out.images = {name: self.image(job["id"], name) for name in res.get("images") or {}}
        if job.get("kind") == "macro" and job["state"] == "succeeded":
            out.log = "\n".join(e["message"] for e in self.log(job["id"]) if e["level"] == "macro")
        return out

    # -- jobs -------------------------------------------------------------------------------
    def jobs(self, state: str | list[str] | None = None, limit: int = 100) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if state:
            params["state"] = [state] if isinstance(state, str) else list(state)
        return self._json("GET", "/jobs", params=params)

    def job(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/jobs/{job_id}")

    def result(self, job_id: str, fetch_images: bool = True) -> JobResult:
        return self._result(self.job(job_id), fetch_images)

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._json("POST", f"/jobs/{job_id}/cancel")

    def resume(self, job_id: str) -> dict[str, Any]:
        return self._json("POST", f"/jobs/{job_id}/resume")

    def delete(self, job_id: str) -> dict[str, Any]:
        return self._json("DELETE", f"/jobs/{job_id}")

    def log(self, job_id: str, since: float = 0.0) -> list[dict[str, Any]]:
        return self._json("GET", f"/jobs/{job_id}/log", params={"since": since})

    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.1) -> dict[str, Any]:
        """Poll until the job ends; return its final state (raise TimeoutError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["state"] not in ("queued", "running"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
            time.sleep(poll)

    def events(self, job_id: str, interval: float = 0.2) -> Iterator[dict[str, Any]]:
        """Yield the job's progress events (server-sent events) until it ends; the last is the final job."""
        with self._http.stream("GET", f"/jobs/{job_id}/events", params={"interval": interval},
                               timeout=httpx.Timeout(None, connect=10.0)) as response:
            if response.status_code >= 400:
                response.read()
                self._request("GET", f"/jobs/{job_id}")  # raises the server's message
            event = "message"
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data = json.loads(line[5:])
                    data["event"] = event
                    yield data
                    if event == "end":
                        return

    def image(self, job_id: str, name: str) -> Image:
        """Download output image ``name`` of a job (ImageJ TIFF; calibration kept)."""
        with tempfile.TemporaryDirectory(prefix="fijax-client-") as tmp:
            path = self.download(f"/jobs/{job_id}/images/{name}", Path(tmp) / f"{name}.tif")
            image = read_tiff(path, title=name)
            image.data = np.array(image.data)  # own the pixels before the temporary file goes
            return image

    def table_csv(self, job_id: str) -> str:
        return self._request("GET", f"/jobs/{job_id}/table.csv").text

    def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        return self._json("GET", f"/jobs/{job_id}/artifacts")

    def artifact(self, job_id: str, path: str, dest: str | os.PathLike) -> Path:
        """Download artifact ``path`` of a job to ``dest`` (written atomically)."""
        return self.download(f"/jobs/{job_id}/artifacts/{path}", dest)

    def download(self, url_path: str, dest: str | os.PathLike) -> Path:
        """Stream ``GET url_path`` into ``dest`` atomically."""
        with self._http.stream("GET", url_path) as response:
            if response.status_code >= 400:
                response.read()
                self._request("GET", url_path)  # raises with the server's message
            with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
                for chunk in response.iter_bytes(1 << 20):
                    fh.write(chunk)
        return Path(dest)

    # -- models -----------------------------------------------------------------------------
    def models(self) -> list[dict[str, Any]]:
        return self._json("GET", "/models")

    def model(self, ref: str) -> dict[str, Any]:
        return self._json("GET", f"/models/{ref}")

    def download_weights(self, ref: str, dest: str | os.PathLike) -> Path:
        return self.download(f"/models/{ref}/weights", dest)
