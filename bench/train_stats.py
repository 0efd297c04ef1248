"""Statistics of the training benchmark: medians over seeds and the rules that read a PSNR curve.

A *curve* is the list of evaluations of one training run, in time order: dicts with ``"seconds"``
(training wall time so far, compile included, evaluation excluded) and ``"psnr"`` (dB against the
ground truth). The rules here decide what ``bench/train.py`` reports, so they are tested on fake
logs (``tests/bench/test_bench_train_stats.py``) rather than trusted:

- :func:`time_to_stay_above` — the first time after which the run *stays* at or above a target. A
  run that touches the target once and falls back (34.40 → 29.75 dB was seen) has not reached it.
- :func:`value_at_time` — the quality a user would have if they stopped the run at a wall time.
- :func:`spread` and :func:`median_ratio` — one lucky seed is not a result: report the median and the
  range over seeds, and ratios as the median of per-seed ratios (like for like: seed *i* of fijax
  against seed *i* of the peer).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence


def _check_curve(curve: Sequence[dict]) -> None:
    times = [float(c["seconds"]) for c in curve]
    if any(b < a for a, b in zip(times, times[1:], strict=False)):
        raise ValueError("curve samples must be in time order")


def time_to_stay_above(curve: Sequence[dict], target: float) -> float | None:
    """Seconds at the first sample from which every later sample has ``psnr >= target``.

    Returns ``None`` when the last sample is below the target (the run did not end at that quality).
    """
    _check_curve(curve)
    reached: float | None = None
    for sample in curve:
        if float(sample["psnr"]) >= target:
            if reached is None:
                reached = float(sample["seconds"])
        else:
            reached = None
    return reached


def value_at_time(curve: Sequence[dict], seconds: float) -> float | None:
    """PSNR of the last evaluation at or before ``seconds`` (``None`` if none was made by then)."""
    _check_curve(curve)
    value = None
    for sample in curve:
        if float(sample["seconds"]) <= seconds:
            value = float(sample["psnr"])
        else:
            break
    return value


def spread(values: Iterable[float | None]) -> dict:
    """Median, min, max and count of the values that exist (``None``/NaN mean "not reached")."""
    items = list(values)
    vals = [float(v) for v in items if v is not None and not math.isnan(float(v))]
    missing = len(items) - len(vals)
    if not vals:
        return {"median": None, "min": None, "max": None, "n": 0, "missing": missing}
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals),
            "missing": missing}


def median_ratio(ours: Sequence[float | None], peer: Sequence[float | None]) -> float | None:
    """Median over seeds of ``ours[i] / peer[i]``; a seed where either side is missing is left out.

    When *ours* is missing because fijax never reached the target, the ratio is unknown, not good:
    callers report ``missing`` beside it (see :func:`spread`).
    """
    if len(ours) != len(peer):
        raise ValueError(f"{len(ours)} values against {len(peer)}: pair seeds one to one")
    ratios = [a / b for a, b in zip(ours, peer, strict=True)
              if a is not None and b is not None and b > 0 and not math.isnan(a) and not math.isnan(b)]
    return statistics.median(ratios) if ratios else None
