"""Supervision of the worker processes and the job queue.

One thread per worker process takes the next queued job, sends it down the worker's pipe and
watches three things: the pipe (progress, log, result), the process (died?) and the clock.
At the soft timeout, or when a user cancels, the cooperative cancel flag is raised; when the
worker has not stopped ``kill_grace`` seconds later (the hard deadline) the process is killed
and a fresh one started. The job is recorded as ``timeout``/``cancelled``/``failed`` and the
server carries on: no job can take the server down with it.

Each worker runs one task at a time, so macros are serialized per JVM.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import multiprocessing
import multiprocessing.connection
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fijax.errors import InputError
from fijax.registry.jobs import Job, JobStore
from fijax.server.worker import worker_main

log = logging.getLogger(__name__)
_SPAWN = multiprocessing.get_context("spawn")


@dataclass
class Task:
    """A queued job as the supervisor sees it."""

    job: Job
    payload: dict[str, Any]
    soft_timeout: float | None
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)
    cancel_requested: bool = False


class WorkerHandle:
    """One worker process, its pipe and its cancel flag."""

    def __init__(self, index: int, config: dict[str, Any]):
        self.index = index
        self.config = config
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn = None
        self.cancel_flag = _SPAWN.Value("i", 0, lock=False)
        self.pid: int | None = None
        self.ready = False
        self.restarts = 0
        self.current: Task | None = None

    def start(self, timeout: float = 300.0) -> None:
        """Start the process and wait for its ``ready`` message."""
        parent, child = _SPAWN.Pipe()
        proc = _SPAWN.Process(target=worker_main, args=(child, self.cancel_flag, self.config),
                              name=f"fijax-worker-{self.index}", daemon=True)
        proc.start()
        child.close()
        self.process, self.conn, self.ready = proc, parent, False
        ready = multiprocessing.connection.wait([parent, proc.sentinel], timeout=timeout)
        if parent in ready:
            try:
                msg = parent.recv()
            except (EOFError, OSError):
                msg = None
            if msg and msg[0] == "ready":
                self.pid, self.ready = msg[1], True
                return
        self.kill()
        raise RuntimeError(f"worker {self.index} did not start (exit code {proc.exitcode})")

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def kill(self) -> None:
        """Kill the process (SIGKILL: a hung JVM ignores politer signals) and reap it."""
        self.ready = False
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(10)
        if self.conn is not None:
            self.conn.close()
        self.process = self.conn = None

    def stop(self) -> None:
        """Ask the worker to exit; kill it when it does not within a few seconds."""
        if self.conn is not None and self.alive():
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass
            self.process.join(5)
        self.kill()


class Supervisor:
    """Queue of jobs served by ``n_workers`` supervised worker processes.

    Parameters
    ----------
    store : JobStore
        Where job states are recorded.
    n_workers : int
        Worker processes (each holds its own JVM and JAX runtime).
    kill_grace : float
        Seconds between the soft deadline (cancel flag) and the hard kill.
    extra_op_modules : list of str
        Modules each worker imports to register extra operations.
    preload_imagej : bool
        Start the JVM (ImageJ) when a worker starts rather than at its first macro.
    warm : bool
        Load the everyday kernels when a worker starts, if the compilation cache holds entries.
    warm_shapes : list of (int, int)
        Shapes whose kernels each worker compiles (or loads) when it starts.
    """

    def __init__(self, store: JobStore, n_workers: int = 1, kill_grace: float = 10.0,
                 extra_op_modules: list[str] | None = None, preload_imagej: bool = False, warm: bool = True,
                 warm_shapes: list[tuple[int, int]] | None = None):
        self.store = store
        self.kill_grace = float(kill_grace)
        self.config = {"extra_op_modules": list(extra_op_modules or []), "preload_imagej": bool(preload_imagej),
                       "warm": bool(warm), "warm_shapes": [list(s) for s in warm_shapes or []]}
        self.workers = [WorkerHandle(i, self.config) for i in range(max(1, int(n_workers)))]
        self._queue: collections.deque[Task] = collections.deque()
        self._tasks: dict[str, Task] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        for handle in self.workers:
            thread = threading.Thread(target=self._serve, args=(handle,), name=f"fijax-sup-{handle.index}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop serving: running jobs are recorded ``interrupted`` (resumable), workers end."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for handle in self.workers:
            proc = handle.process
            if handle.current is not None and proc is not None and proc.is_alive():
                proc.kill()  # its supervising thread sees the death and records the job
        for thread in self._threads:
            thread.join(15)
        for handle in self.workers:
            handle.stop()

    def status(self) -> list[dict[str, Any]]:
        return [{"index": h.index, "pid": h.pid, "alive": h.alive(), "ready": h.ready, "restarts": h.restarts,
                 "job": h.current.job.id if h.current else None} for h in self.workers]

    # -- queue ----------------------------------------------------------------------------
    def submit(self, job: Job, payload: dict[str, Any], soft_timeout: float | None) -> concurrent.futures.Future:
        """Queue ``job``; the returned future resolves to the final :class:`Job` row."""
        task = Task(job, payload, soft_timeout)
        with self._cond:
            self._tasks[job.id] = task
            self._queue.append(task)
            self._cond.notify()
        return task.future

    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once, or raise the cancel flag of a running one."""
        with self._cond:
            task = self._tasks.get(job_id)
            if task is None:
                job = self.store.get(job_id)
                raise InputError(f"job {job_id} is {job.state}; only queued or running jobs can be cancelled")
            if task in self._queue:
                self._queue.remove(task)
                self._tasks.pop(job_id, None)
                self.store.finish(job_id, "cancelled", error="cancelled before it started", error_kind="cancelled")
                self.store.log(job_id, "cancelled while queued")
                task.future.set_result(self.store.get(job_id))
                return self.store.get(job_id)
            task.cancel_requested = True
        self.store.log(job_id, "cancel requested")
        return self.store.get(job_id)

    def _next(self) -> Task | None:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            return self._queue.popleft()

    # -- one worker -----------------------------------------------------------------------
    def _ensure_worker(self, handle: WorkerHandle) -> None:
        if handle.alive() and handle.ready:
            return
        if handle.process is not None:
            handle.kill()
            handle.restarts += 1
        handle.start()
        log.info("worker %d started (pid %s)", handle.index, handle.pid)

    def _serve(self, handle: WorkerHandle) -> None:
        try:
            self._ensure_worker(handle)
        except Exception:  # noqa: BLE001 - retried when the first task arrives
            log.exception("worker %d failed to start", handle.index)
        while True:
            task = self._next()
            if task is None:
                return
            try:
                self._run(handle, task)
            except Exception as exc:  # noqa: BLE001 - the supervisor thread must survive anything
                log.exception("supervising job %s failed", task.job.id)
                self._finish(task, "failed", error=f"server error while supervising the job: {exc}",
                             error_kind="internal")
            finally:
                handle.current = None

    def _finish(self, task: Task, state: str, result: dict | None = None, error: str | None = None,
                error_kind: str | None = None) -> None:
        job_id = task.job.id
        try:
            self.store.finish(job_id, state, result=result, error=error, error_kind=error_kind)
            if error:
                self.store.log(job_id, f"{state}: {error}", level="error" if state == "failed" else "warning")
            final = self.store.get(job_id)
        finally:
            with self._cond:
                self._tasks.pop(job_id, None)
        if not task.future.done():
            task.future.set_result(final)

    def _run(self, handle: WorkerHandle, task: Task) -> None:
        job_id = task.job.id
        try:
            self._ensure_worker(handle)
        except Exception as exc:  # noqa: BLE001
            self._finish(task, "failed", error=f"worker could not start: {exc}", error_kind="worker")
            return
        if task.cancel_requested:
            self._finish(task, "cancelled", error="cancelled before it started", error_kind="cancelled")
            return
        handle.current = task
        handle.cancel_flag.value = 0
        self.store.start(job_id)
        handle.conn.send(task.payload)
        start = time.monotonic()
        soft = start + task.soft_timeout if task.soft_timeout else None
        hard: float | None = None
        flagged_reason: str | None = None
        while True:
            ready = multiprocessing.connection.wait([handle.conn, handle.process.sentinel], timeout=0.1)
            lost = False
            if handle.conn in ready:
                try:
                    msg = handle.conn.recv()
                except (EOFError, OSError):
                    msg, lost = None, True
                if msg is not None:
                    if self._on_message(task, msg, flagged_reason):
                        return
                    continue
            if lost or not handle.alive():
                proc = handle.process
                handle.kill()
                code = proc.exitcode if proc is not None else None
                if self._stopping:  # the server is shutting down: resumable, like after a crash
                    self._finish(task, "interrupted", error="the server stopped while this job was running; "
                                 "resume it to continue", error_kind="interrupted")
                    return
                handle.restarts += 1
                self._finish(task, "failed", error=f"the worker process died (exit code {code}) while running"
                             " this job; it has been restarted", error_kind="worker")
                self._restart_later(handle)
                return
            now = time.monotonic()
            if flagged_reason is None and task.cancel_requested:
                flagged_reason = "cancelled"
            elif flagged_reason is None and soft is not None and now >= soft:
                flagged_reason = "timeout"
                self.store.log(job_id, f"soft timeout after {task.soft_timeout:g} s: asking the job to stop",
                               level="warning")
            if flagged_reason is not None and hard is None:
                handle.cancel_flag.value = 1
                hard = now + self.kill_grace
            if hard is not None and now >= hard:
                handle.kill()
                handle.restarts += 1
                what = ("cancelled: the worker did not stop" if flagged_reason == "cancelled"
                        else f"hard timeout after {task.soft_timeout + self.kill_grace:g} s")
                self._finish(task, flagged_reason, error=f"{what}; the worker was killed and restarted",
                             error_kind=flagged_reason)
                self._restart_later(handle)
                return

    def _restart_later(self, handle: WorkerHandle) -> None:
        """Start the replacement worker now, so the next job does not pay the start-up."""
        try:
            self._ensure_worker(handle)
        except Exception:  # noqa: BLE001 - retried with the next job
            log.exception("worker %d failed to restart", handle.index)

    def _on_message(self, task: Task, msg: tuple, flagged_reason: str | None) -> bool:
        """Handle one worker message; return True when the task is over."""
        job_id = task.job.id
        kind = msg[0]
        if kind == "progress" and msg[1] == job_id:
            self.store.progress(job_id, msg[2], msg[3])
        elif kind == "log" and msg[1] == job_id:
            self.store.log(job_id, msg[3], level=msg[2])
        elif kind == "done" and msg[1] == job_id:
            self._finish(task, "succeeded", result=msg[2])
            return True
        elif kind == "error" and msg[1] == job_id:
            err_kind, text = msg[2], msg[3]
            if err_kind == "cancelled":
                state = flagged_reason or "cancelled"
                if state == "timeout":
                    text = f"soft timeout after {task.soft_timeout:g} s ({text})"
                self._finish(task, state, error=text, error_kind=state)
            else:
                self._finish(task, "failed", error=text, error_kind=err_kind)
            return True
        return False
