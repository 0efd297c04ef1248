"""Headless HTTP server: FastAPI app, supervised worker, jobs."""
