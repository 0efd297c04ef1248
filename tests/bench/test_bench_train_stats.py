"""The training benchmark's statistics, on fake timing logs (nothing is timed here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from train_stats import median_ratio, spread, time_to_stay_above, value_at_time  # noqa: E402


def _curve(points):
    return [{"seconds": s, "psnr": p} for s, p in points]


def test_stays_above_ignores_a_crossing_that_falls_back():
    # touched 34.40 at 20 s, fell to 29.75, came back for good at 50 s
    curve = _curve([(10, 30.0), (20, 34.40), (30, 29.75), (40, 33.9), (50, 34.2), (60, 34.6)])
    assert time_to_stay_above(curve, 34.0) == 50
    assert time_to_stay_above(curve, 29.0) == 10


def test_stays_above_none_when_the_run_ends_below():
    curve = _curve([(10, 30.0), (20, 34.5), (30, 33.0)])
    assert time_to_stay_above(curve, 34.0) is None
    assert time_to_stay_above([], 1.0) is None


def test_curve_must_be_time_ordered():
    with pytest.raises(ValueError, match="time order"):
        time_to_stay_above(_curve([(20, 1.0), (10, 2.0)]), 0.5)


def test_value_at_time_is_the_last_sample_before():
    curve = _curve([(10, 30.0), (20, 31.0), (30, 32.0)])
    assert value_at_time(curve, 25) == 31.0
    assert value_at_time(curve, 30) == 32.0
    assert value_at_time(curve, 5) is None


def test_spread_counts_missing_seeds():
    s = spread([3.0, None, 1.0, 2.0])
    assert s == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3, "missing": 1}
    assert spread([None])["median"] is None


def test_median_ratio_pairs_seeds():
    # per-seed ratios 2, 0.5, 1 -> median 1 (a ratio of medians would give 1.0 too, so add a case that differs)
    assert median_ratio([2.0, 1.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    assert median_ratio([1.0, 10.0, 3.0], [2.0, 1.0, 1.0]) == pytest.approx(3.0)
    assert median_ratio([None, 2.0], [1.0, 1.0]) == 2.0
    assert median_ratio([None], [1.0]) is None
    with pytest.raises(ValueError, match="pair seeds"):
        median_ratio([1.0], [1.0, 2.0])


def test_summary_of_a_fake_run():
    import train as bench_train

    peer = [{"psnr": 30.0, "train_s": 100.0, "step_median_s": 0.5},
            {"psnr": 31.0, "train_s": 120.0, "step_median_s": 0.6},
            {"psnr": 32.0, "train_s": 110.0, "step_median_s": 0.4}]
    step = [{"step_median_s": 0.6}, {"step_median_s": 0.6}, {"step_median_s": 0.6}]
    runs = {"recipe": [
        {"curve": _curve([(50, 30.0), (90, 31.5), (130, 32.0)]), "final_psnr": 32.0},
        {"curve": _curve([(50, 31.2), (90, 30.5), (130, 31.4)]), "final_psnr": 31.4},
        {"curve": _curve([(50, 29.0), (90, 30.0), (130, 30.9)]), "final_psnr": 30.9},
    ]}
    s = bench_train.summarise(peer, step, runs)
    assert s["target_psnr"] == 31.0
    assert s["median_ratio_step_time"] == pytest.approx(1.2)  # ratios 1.2, 1.0, 1.5
    r = s["recipe"]
    # seed 0 stays above 31 from 90 s; seed 1 only from 130 s (it fell back at 90 s); seed 2 never
    assert r["seconds_to_stay_above_target"] == {"median": 110.0, "min": 90.0, "max": 130.0, "n": 2,
                                                 "missing": 1}
    assert r["median_ratio_time_to_quality"] == pytest.approx((0.9 + 130 / 120) / 2)
    # at CAREamics' median wall time (110 s): 31.5, 30.5, 30.0
    assert r["psnr_at_careamics_wall_time"]["median"] == 30.5
    assert r["psnr_gain_at_equal_time_db"] == pytest.approx(-0.5)
