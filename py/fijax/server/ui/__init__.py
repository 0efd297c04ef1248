"""Browser view of the server: pages for jobs, models, QC runs, comparisons and training.

Server-rendered HTML (Jinja2 templates in ``templates/``) with a little vanilla JavaScript
(``static/ui.js``: live progress over the jobs' server-sent events, cancel, starting jobs through
the API, image zoom); no front-end build step and nothing fetched from another site.

:func:`install` adds the pages to an app built by :func:`fijax.server.app.create_app`: the routes
and the session middleware (:mod:`fijax.server.ui.auth`), which must wrap the token guard — call
it right after the guard is added. See ``docs/server.md`` ("Browser pages").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from fijax.server.ui.auth import SessionMiddleware, SessionStore

if TYPE_CHECKING:
    from fijax.server.app import ServerConfig

__all__ = ["install"]


def install(app: FastAPI, config: ServerConfig) -> SessionStore:
    """Serve the pages at ``/`` and ``/ui/...`` and accept browser sessions; return the session store.

    Call it right after the token guard is added, so that the session layer wraps the guard.
    """
    from fijax.server.security import GuardMiddleware
    from fijax.server.ui.routes import make_router

    sessions = SessionStore(config.token, cookie_name=f"fijax_session_{int(config.port)}")
    host_check = GuardMiddleware(None, config.token, config.allowed_hosts)  # the guard's own Host rule
    app.state.ui_sessions = sessions
    app.include_router(make_router())
    app.add_middleware(SessionMiddleware, sessions=sessions, token=config.token, host_ok=host_check.host_ok)
    return sessions
