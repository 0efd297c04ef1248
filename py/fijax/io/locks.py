"""Advisory file locks (``flock``) that vanish with their process, even after ``kill -9``."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path


class FileLock:
    """An exclusive ``flock`` on ``path`` (created if missing); released by :meth:`release` or process exit.

    Parameters
    ----------
    path : path-like
        The lock file (its content is the holder's pid, for people reading the folder).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self, timeout: float | None = 0.0) -> bool:
        """Take the lock; wait up to ``timeout`` seconds (``None``: forever). Return whether it was taken."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    @property
    def held(self) -> bool:
        return self.fd is not None


def is_locked(path: str | os.PathLike) -> bool:
    """Whether another process holds the lock at ``path`` (a missing file is unlocked)."""
    path = Path(path)
    if not path.is_file():
        return False
    lock = FileLock(path)
    if lock.acquire(0.0):
        lock.release()
        return False
    return True


@contextlib.contextmanager
def locked(path: str | os.PathLike, timeout: float | None = None) -> Iterator[FileLock]:
    """Hold the lock at ``path`` for the ``with`` block (waiting up to ``timeout`` seconds)."""
    lock = FileLock(path)
    if not lock.acquire(timeout):
        raise TimeoutError(f"lock {path} is held by another process")
    try:
        yield lock
    finally:
        lock.release()
