"""GT-free domain check: is an image like the data a model was trained on?

Method (chosen by measurement, see ``bench/ood.py`` and ``docs/engine.md``): the model's own
encoder describes each window of an image. A window has the training patch size; its feature
vector holds, for every encoder level and the bottleneck, each channel's mean and standard
deviation of activation over the window (deterministic pass, no dropout), square-rooted. At
training time

* the *reference* is fitted on training patches: per-feature centre and scale, then a
  Ledoit–Wolf-shrunk covariance of the standardised features (Mahalanobis distance, Lee et al.
  2018, on pooled features);
* the *threshold* is calibrated on validation patches (never used for the fit): the
  ``1 - false_alarm_rate`` quantile of their scores.

A window's score is its Mahalanobis distance divided by ``sqrt(feature count)`` (≈ 1 in domain);
an image's ``domain_score`` is the *median* over its windows (robust to a few odd windows; the
mean was measured to separate families worse). The threshold for an image of ``n`` windows is
the ``q``-quantile of the calibration window scores, with ``q`` the smallest level at which the
median of ``min(n, 5)`` independent in-domain windows exceeds it with probability at most the
stated false-alarm rate (binomial order statistics; capping ``n`` at 5 allows for windows of one
image being correlated). One window: ``q = 1 − rate``; five or more: ``q ≈ 0.81`` at 5 %. The
image-level false-alarm rate on held-out in-domain images is measured in the bench. Cost: one
encoder pass over the image (about half of one prediction).

The reference lives in ``domain.npz`` in the model folder, hashed in the card like every model
file and verified before use. Models registered before this existed have none: checking them
raises :class:`~fijax.errors.InputError` telling to retrain or run ``fijax models calibrate``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from fijax.engine import data as D
from fijax.engine.checkpoint import load_npz, save_npz
from fijax.errors import InputError
from fijax.io.hashing import sha256_file

#: File name of the reference in a model folder.
DOMAIN_FILE = "domain.npz"
#: Identifier of the feature and score definition (stored; a reader refuses other versions).
METHOD = "encoder-mahalanobis-v1"
#: Default false-alarm rate the threshold is calibrated to.
DEFAULT_FALSE_ALARM_RATE = 0.05
#: Training patches fitted into the reference and validation patches used for the threshold.
REFERENCE_PATCHES = 512
CALIBRATION_PATCHES = 256
#: Windows per jitted encoder call.
_CHUNK = 32

#: Windows of one image counted as independent when setting its threshold (they are correlated).
EFFECTIVE_WINDOWS = 5

NO_REFERENCE = ("model {ref}: no domain reference; retrain or run `fijax models calibrate {ref} --data DIR` "
                "(DIR: in-domain raw images)")


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------

_ENCODERS: dict[Any, Callable] = {}


def _encoder(model: nnx.Module) -> Callable[[np.ndarray], np.ndarray]:
    """``f(windows (B, *spatial, C)) -> (B, D)`` pooled encoder features (jitted, cached per structure)."""
    gd, params, rest = nnx.split(model, nnx.Param, ...)
    if gd not in _ENCODERS:
        @jax.jit
        def feats(params, rest, x):
            maps = nnx.merge(gd, params, rest).encode(x)
            out = []
            for m in maps:
                axes = tuple(range(1, m.ndim - 1))
                out += [jnp.mean(m, axis=axes), jnp.std(m, axis=axes)]
            # square roots (activations are >= 0) make the features closer to Gaussian (measured)
            return jnp.sqrt(jnp.maximum(jnp.concatenate(out, axis=-1), 0.0))

        if len(_ENCODERS) > 16:
            _ENCODERS.clear()
        _ENCODERS[gd] = feats
    f = _ENCODERS[gd]

    def run(windows: np.ndarray) -> np.ndarray:
        n = len(windows)
        out = []
        for i in range(0, n, _CHUNK):
            b = windows[i:i + _CHUNK]
            if len(b) < _CHUNK and n > _CHUNK:  # one compiled shape for all full chunks
                b = np.concatenate([b, np.repeat(b[-1:], _CHUNK - len(b), axis=0)])
            out.append(np.asarray(f(params, rest, jnp.asarray(b)), np.float64)[:min(_CHUNK, n - i)])
        return np.concatenate(out) if out else np.zeros((0, 0))

    return run


def window_size(spatial: Sequence[int], patch: Sequence[int], divisor: int) -> tuple[int, ...]:
    """The training patch size, shrunk (to a multiple of ``divisor``) where the image is smaller."""
    return tuple(max(divisor, min(p, (s // divisor) * divisor)) for s, p in zip(spatial, patch, strict=True))


def windows(sample: np.ndarray, win: Sequence[int]) -> np.ndarray:
    """Tile a normalised sample ``(*spatial, C)`` into windows ``(N, *win, C)`` covering it.

    Windows do not overlap except the last along an axis, which is shifted inwards to end at the
    border; axes shorter than the window are reflect-padded.
    """
    pads = [(0, max(0, w - s)) for s, w in zip(sample.shape[:-1], win, strict=True)] + [(0, 0)]
    if any(p[1] for p in pads):
        sample = np.pad(sample, pads, mode="reflect" if min(sample.shape[:-1]) > 1 else "edge")
    starts = []
    for s, w in zip(sample.shape[:-1], win, strict=True):
        st = list(range(0, s - w + 1, w))
        if st[-1] + w < s:
            st.append(s - w)
        starts.append(st)
    grid = np.array(np.meshgrid(*starts, indexing="ij")).reshape(len(win), -1).T
    return np.stack([sample[tuple(slice(a, a + w) for a, w in zip(g, win, strict=True))] for g in grid])


# ---------------------------------------------------------------------------------------------
# Reference
# ---------------------------------------------------------------------------------------------

def median_quantile(n: int, rate: float) -> float:
    """Smallest ``q`` with P(median of ``n`` iid draws > ``q``-quantile) <= ``rate``.

    The median (the ``ceil(n/2)``-th largest of ``n``) exceeds the ``q``-quantile when at least
    ``ceil(n/2)`` draws do: a binomial tail in ``1 - q``, solved by bisection.
    """
    from scipy.stats import binom

    k = (n + 1) // 2  # order statistic np.median picks at or above (upper median for even n)
    lo, hi = 0.0, 1.0
    for _ in range(50):
        q = (lo + hi) / 2
        if binom.sf(k - 1, n, 1.0 - q) > rate:
            lo = q
        else:
            hi = q
    return hi


def _ledoit_wolf(z: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit–Wolf (2004) shrinkage of the covariance of centred rows ``z`` towards ``mu·I``."""
    n, p = z.shape
    s = z.T @ z / n
    mu = np.trace(s) / p
    delta = np.sum((s - mu * np.eye(p)) ** 2) / p
    beta = (np.sum(np.sum(z * z, axis=1) ** 2) - n * np.sum(s * s)) / (n * n * p)
    shrink = 1.0 if delta <= 0 else float(min(max(beta / delta, 0.0), 1.0))
    return shrink * mu * np.eye(p) + (1.0 - shrink) * s, shrink


@dataclass
class DomainReference:
    """A fitted domain reference (see the module docstring).

    Attributes
    ----------
    center, scale : ndarray (D,)
        Per-feature centre and scale (standardisation) of the reference windows.
    precision : ndarray (D, D)
        Inverse of the shrunk covariance of the standardised features.
    threshold : float
        Largest in-domain score of a one-window image (``1 - rate`` quantile of the calibration
        window scores); :meth:`threshold_for` gives it for more windows.
    calibration_scores : ndarray
        Scores of the calibration (validation) windows.
    meta : dict
        Method, window, false-alarm rate, counts, shrinkage, where the data came from.
    """

    center: np.ndarray
    scale: np.ndarray
    precision: np.ndarray
    threshold: float
    calibration_scores: np.ndarray
    meta: dict

    def threshold_for(self, n_windows: int) -> float:
        """Largest in-domain median score of an image with ``n_windows`` windows."""
        q = median_quantile(min(max(int(n_windows), 1), EFFECTIVE_WINDOWS),
                            float(self.meta["false_alarm_rate"]))
        return float(np.quantile(self.calibration_scores, q, method="higher"))

    def window_scores(self, feats: np.ndarray) -> np.ndarray:
        """Normalised Mahalanobis distance of each feature row (≈ 1 for in-domain windows)."""
        z = (np.asarray(feats, np.float64) - self.center) / self.scale
        d2 = np.einsum("ij,jk,ik->i", z, self.precision, z)
        return np.sqrt(np.maximum(d2, 0.0) / z.shape[1])

    def save(self, path: str | Path) -> Path:
        """Write ``domain.npz`` (atomically)."""
        return save_npz(path, {"center": self.center, "scale": self.scale, "precision": self.precision,
                               "calibration_scores": self.calibration_scores},
                        dict(self.meta, threshold=self.threshold))

    @classmethod
    def load(cls, path: str | Path) -> DomainReference:
        arrays, meta = load_npz(path)
        if meta.get("method") != METHOD:
            raise InputError(f"{Path(path).name}: domain reference of method {meta.get('method')!r}, this fijax "
                             f"reads {METHOD!r}; run `fijax models calibrate` again")
        return cls(arrays["center"], arrays["scale"], arrays["precision"], float(meta["threshold"]),
                   arrays["calibration_scores"], meta)

    def summary(self) -> dict:
        """What the model card records about the reference."""
        keys = ("method", "window", "false_alarm_rate", "threshold", "n_reference", "n_calibration",
                "feature_dim", "shrinkage", "origin", "aggregate", "calibration_quantiles", "thresholds_by_windows")
        return {k: self.meta.get(k) if k != "threshold" else self.threshold for k in keys}


def fit_reference(ref_feats: np.ndarray, cal_feats: np.ndarray, *, window: Sequence[int],
                  false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE, origin: str = "") -> DomainReference:
    """Fit the reference on ``ref_feats`` and calibrate its threshold on ``cal_feats`` (window features).

    Raises
    ------
    InputError
        Too few windows, or a false-alarm rate outside (0, 0.5).
    """
    if not 0.0 < false_alarm_rate < 0.5:
        raise InputError(f"false-alarm rate must be in (0, 0.5), got {false_alarm_rate}")
    ref = np.asarray(ref_feats, np.float64)
    cal = np.asarray(cal_feats, np.float64)
    if len(ref) < 8 or len(cal) < 8:
        raise InputError(f"a domain reference needs at least 8 reference and 8 calibration windows, got "
                         f"{len(ref)} and {len(cal)}: give more or larger images")
    center = ref.mean(axis=0)
    sd = ref.std(axis=0)
    # channels (almost) silent on the training data must not turn tiny activations into huge z-scores
    floor = 0.1 * float(np.median(sd[sd > 0])) if np.any(sd > 0) else 1.0
    scale = np.maximum(sd, floor)
    cov, shrink = _ledoit_wolf((ref - center) / scale)
    precision = np.linalg.pinv(cov, hermitian=True)
    r = DomainReference(center, scale, precision, 0.0, np.zeros(0), {})
    cal_scores = r.window_scores(cal)
    threshold = float(np.quantile(cal_scores, 1.0 - false_alarm_rate, method="higher"))
    meta = {"method": METHOD, "window": [int(w) for w in window], "false_alarm_rate": float(false_alarm_rate),
            "n_reference": int(len(ref)), "n_calibration": int(len(cal)), "feature_dim": int(ref.shape[1]),
            "shrinkage": round(shrink, 6), "origin": origin,
            "aggregate": f"median of window scores; in domain when <= the threshold for min(windows, "
                         f"{EFFECTIVE_WINDOWS}) windows",
            "thresholds_by_windows": {},
            "calibration_quantiles": {q: float(np.quantile(cal_scores, float(q))) for q in ("0.5", "0.9", "0.99")}}
    out = DomainReference(center, scale, precision, threshold, cal_scores, meta)
    meta["thresholds_by_windows"] = {str(n): out.threshold_for(n) for n in range(1, EFFECTIVE_WINDOWS + 1)}
    return out


def build_reference(model: nnx.Module, train_windows: np.ndarray, cal_windows: np.ndarray, *,
                    false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE, origin: str = "") -> DomainReference:
    """Encoder features of normalised training and calibration windows → :func:`fit_reference`."""
    enc = _encoder(model)
    return fit_reference(enc(train_windows), enc(cal_windows), window=train_windows.shape[1:-1],
                         false_alarm_rate=false_alarm_rate, origin=origin)


# ---------------------------------------------------------------------------------------------
# Checking images
# ---------------------------------------------------------------------------------------------

@dataclass
class DomainResult:
    """The domain check of one image.

    Attributes
    ----------
    domain_score : float
        Median normalised Mahalanobis distance of the image's windows.
    in_domain : bool
        ``domain_score <= threshold``.
    threshold : float
        The calibrated threshold for this image's number of windows.
    windows : int
        Windows scored.
    windows_out : float
        Fraction of windows whose own score exceeds the threshold (where the image departs).
    seconds : float
        Time the check took.
    """

    domain_score: float
    in_domain: bool
    threshold: float
    windows: int
    windows_out: float
    seconds: float

    def row(self) -> dict:
        return {"domain_score": self.domain_score, "in_domain": self.in_domain, "threshold": self.threshold,
                "windows": self.windows, "windows_out": self.windows_out}


def check_image(model: nnx.Module, config: Any, reference: DomainReference, image: Any,
                axes: str | None = None) -> DomainResult:
    """Score ``image`` (Image or array) against ``reference`` with ``model``'s encoder.

    The image is normalised per sample exactly as :func:`fijax.engine.predict.predict` does, cut
    into windows of the training patch size and encoded once.
    """
    import time

    t0 = time.perf_counter()
    data, _ = D.batch_layout(image, config.ndim, axes)
    if data.shape[-1] != model.spec.in_channels:
        raise InputError(f"the model expects {model.spec.in_channels} channel(s), the image has {data.shape[-1]}")
    win_ref = tuple(reference.meta["window"])
    wins = []
    for sample in data:
        xn = D.normalize(sample, *D.percentiles(sample, config.norm_pmin, config.norm_pmax))
        wins.append(windows(xn, window_size(xn.shape[:-1], win_ref, model.spec.divisor)))
    enc = _encoder(model)
    scores = np.concatenate([reference.window_scores(enc(w)) for w in wins])
    score = float(np.median(scores))
    thr = reference.threshold_for(len(scores))
    return DomainResult(score, bool(score <= thr), thr, int(len(scores)), float(np.mean(scores > thr)),
                        time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------
# Model folders and the registry
# ---------------------------------------------------------------------------------------------

def load_reference(record: Any) -> DomainReference:
    """The verified domain reference of a registered model (``ModelRecord``).

    Raises
    ------
    InputError
        No reference (models registered before domain checks, or a task without one), or a file
        whose sha256 differs from the one in the card.
    """
    files = record.card.get("files") or {}
    path = Path(record.path) / DOMAIN_FILE
    if DOMAIN_FILE not in files or not path.is_file():
        raise InputError(NO_REFERENCE.format(ref=record.ref))
    digest = sha256_file(path)
    if digest != files[DOMAIN_FILE]:
        raise InputError(f"model {record.ref}: {DOMAIN_FILE} fails its sha256 check (recorded "
                         f"{files[DOMAIN_FILE][:12]}…, file {digest[:12]}…): tampered or corrupt; refused "
                         "(run `fijax models calibrate` to make a new one)")
    return DomainReference.load(path)


def reference_from_images(model: nnx.Module, config: Any, images: Sequence[Any], *,
                          false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE, seed: int = 0,
                          origin: str = "") -> DomainReference:
    """Fit a reference for an existing model from in-domain raw images (``fijax models calibrate``).

    With two or more samples, whole samples are split (about 1 in 4 for calibration); with one,
    its last quarter along the longest axis calibrates. Windows: random training-size patches.
    """
    samples = []
    for img in images:
        for s in D.to_samples(img, config.ndim):
            samples.append(D.normalize(s, *D.percentiles(s, config.norm_pmin, config.norm_pmax)))
    if not samples:
        raise InputError("calibrate needs in-domain images")
    patch = window_size(min((s.shape[:-1] for s in samples), key=lambda t: math.prod(t)),
                        config.patch_size, model.spec.divisor)
    rng = np.random.default_rng([seed, 17])
    if len(samples) >= 2:
        order = rng.permutation(len(samples))
        n_cal = max(1, len(samples) // 4)
        cal, ref = [samples[i] for i in order[:n_cal]], [samples[i] for i in order[n_cal:]]
    else:
        s = samples[0]
        axis = int(np.argmax(s.shape[:-1]))
        cut = s.shape[axis] - max(patch[axis], s.shape[axis] // 4)
        if cut < patch[axis]:
            raise InputError(f"one image of shape {s.shape[:-1]} cannot hold reference and calibration windows "
                             f"of {patch}; give more images")
        ref, cal = [np.take(s, range(cut), axis=axis)], [np.take(s, range(cut, s.shape[axis]), axis=axis)]
    ref_w, _ = D.PatchSampler(ref, None, patch).sample(rng, REFERENCE_PATCHES)
    cal_w, _ = D.PatchSampler(cal, None, patch).sample(rng, CALIBRATION_PATCHES)
    return build_reference(model, ref_w, cal_w, false_alarm_rate=false_alarm_rate, origin=origin)


#: Images whose noise is estimated for the card (the estimate costs a fraction of a second each).
_NOISE_IMAGES = 16


def describe_domain(images: Sequence[Any], description: str | None = None) -> dict[str, Any]:
    """The intended domain recorded in a model card: images, intensities, noise, calibration, metadata.

    Per training image: title, raw intensity statistics (percentiles 1/50/99, mean, std) and the
    Poisson–Gaussian noise parameters ``(alpha, delta, sigma)`` estimated on its first 2D plane by
    :func:`fijax.classical.noise.estimate_noise` (or why they could not be); pixel sizes and
    acquisition metadata found in TIFF/OME files; the user's description.
    """
    from fijax.classical.noise import estimate_noise
    from fijax.io.image import Image

    per_image, pixel_sizes, acquisition = [], set(), {}
    for i, img in enumerate(images):
        arr = np.asarray(img.data if isinstance(img, Image) else img, np.float64)
        title = img.title if isinstance(img, Image) else f"array{i}"
        p1, p50, p99 = (float(v) for v in np.percentile(arr, [1, 50, 99]))
        entry: dict[str, Any] = {"title": title, "shape": list(arr.shape), "p1": p1, "p50": p50, "p99": p99,
                                 "mean": float(arr.mean()), "std": float(arr.std())}
        if i < _NOISE_IMAGES:
            plane = arr.reshape((-1,) + arr.shape[-2:])[0] if arr.ndim >= 2 else arr
            if isinstance(img, Image) and "C" in img.axes and img.axes.index("C") >= len(img.axes) - 2:
                plane = None  # channels among the last two axes: no single plane to estimate on
            try:
                if plane is None:
                    raise InputError("no YX plane")
                a, d, s = estimate_noise(plane)
                entry["noise"] = {"alpha": a, "delta": d, "sigma": s}
            except Exception as exc:  # noqa: BLE001 - a failed estimate is a recorded fact, not a failed training
                entry["noise"] = {"error": str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"}
        per_image.append(entry)
        if isinstance(img, Image):
            if img.pixel_size is not None:
                pixel_sizes.add((tuple(float(v) for v in img.pixel_size), img.unit))
            meta = {k: v for k, v in img.metadata.items() if isinstance(v, str | int | float | bool)}
            if meta:
                acquisition[title] = meta
    noise = [e["noise"] for e in per_image if "alpha" in e.get("noise", {})]
    summary = {k: float(np.median([n[k] for n in noise])) for k in ("alpha", "delta", "sigma")} if noise else None
    return {"description": description or "", "images": per_image, "image_count": len(per_image),
            "noise_median": summary,
            "intensity": {"p1_median": float(np.median([e["p1"] for e in per_image])) if per_image else None,
                          "p99_median": float(np.median([e["p99"] for e in per_image])) if per_image else None},
            "pixel_size": [{"zyx": list(p), "unit": u} for p, u in sorted(pixel_sizes, key=str)],
            "acquisition": acquisition}
