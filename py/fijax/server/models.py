"""HTTP routes over the model registry (:mod:`fijax.registry.models`): list, card, weights download."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse

from fijax.registry.models import ModelRegistry


def _registry() -> ModelRegistry:
    return ModelRegistry()


def add_routes(app: FastAPI) -> None:
    """Add ``/models``, ``/models/{ref}`` and ``/models/{ref}/weights`` to ``app``."""

    @app.get("/models", summary="Registered models (name, version, task, metrics)", tags=["models"])
    def list_models() -> list[dict[str, Any]]:
        rows = []
        for rec in _registry().list():
            row = rec.summary()
            row.pop("path", None)  # server-side paths stay private
            row["ref"] = rec.ref
            row["weights_sha256"] = rec.weights_sha256
            rows.append(row)
        return rows

    @app.get("/models/{ref}", summary="The model card of NAME[:VERSION] (latest when no version)", tags=["models"])
    def show_model(ref: str) -> dict[str, Any]:
        rec = _registry().get(ref)
        card = dict(rec.card)
        card.pop("path", None)
        return {"ref": rec.ref, "name": rec.name, "version": rec.version, "task": rec.task,
                "created": rec.created, "weights_sha256": rec.weights_sha256, "card": card}

    @app.get("/models/{ref}/weights", summary="Download the weights (.npz) of NAME[:VERSION], sha256-checked",
             tags=["models"], response_class=FileResponse)
    def model_weights(ref: str):
        registry = _registry()
        rec = registry.get(ref)
        registry.verify(rec)  # never hand out tampered or truncated weights
        return FileResponse(rec.weights_path, media_type="application/octet-stream",
                            filename=f"{rec.name}-{rec.version}.npz",
                            headers={"X-Weights-SHA256": rec.weights_sha256})
