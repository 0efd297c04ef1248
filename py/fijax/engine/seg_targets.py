"""Label images → 3-class training targets (background / interior / boundary), with input checks.

A label image holds 0 for background and a positive integer per object (ids need not be
consecutive). Its *boundary* pixels are the object pixels that touch the background or another
object (:func:`skimage.segmentation.find_boundaries`, ``mode="inner"``), optionally thickened; the
rest of each object is *interior*. Touching objects are thus separated by two boundary rows, which
is what lets the seeded watershed (:mod:`fijax.engine.watershed`) split them again.

Training targets carry one more channel: the label id itself. It is ignored by the loss but rides
along through patch sampling and augmentation, so the validation split keeps the instance labels
the post-training threshold tuning and QC need.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fijax.errors import InputError

#: Class indices of the 3-class head.
BACKGROUND, INTERIOR, BOUNDARY = 0, 1, 2
CLASS_NAMES = ("background", "interior", "boundary")
#: Label ids are carried in float32 training targets: exact up to 2**24.
MAX_LABEL = 1 << 24


def check_label_image(labels: Any, name: str = "labels") -> np.ndarray:
    """Validate one label image and return it as an integer array.

    Parameters
    ----------
    labels : array-like
        Integer-valued label image (float arrays are accepted when every value is an integer,
        as ImageJ stores 32-bit label images).
    name : str
        Used in error messages.

    Raises
    ------
    InputError
        Non-numeric, non-integer, negative, non-finite or too large values.
    """
    arr = np.asarray(labels)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"{name}: a label image must hold integers, got dtype {arr.dtype}")
    if arr.size == 0:
        raise InputError(f"{name}: empty label image (shape {arr.shape})")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise InputError(f"{name}: label image contains NaN or infinite values")
        frac = arr != np.round(arr)
        if frac.any():
            bad = arr[frac].ravel()[0]
            raise InputError(f"{name}: label image has non-integer values (e.g. {bad}); "
                             "labels must be whole numbers (0 = background)")
    lo = arr.min()
    if lo < 0:
        raise InputError(f"{name}: label image has negative values (min {lo}); labels must be >= 0")
    if arr.max() >= MAX_LABEL:
        raise InputError(f"{name}: label ids must be below {MAX_LABEL}, got {arr.max()}; relabel the image")
    return arr.astype(np.int32, copy=False)


def check_pairs(sources: list[np.ndarray], labels: list[np.ndarray] | None) -> None:
    """Check image/label samples ``(*spatial, C)`` pair up and that there are objects to learn.

    Raises
    ------
    InputError
        Missing labels, count or shape mismatch, multi-channel labels, bad label values, or no
        object in any label image.
    """
    if labels is None or len(labels) == 0:
        raise InputError("segmentation training needs label images (one per training image)")
    if len(sources) != len(labels):
        raise InputError(f"{len(sources)} image sample(s) but {len(labels)} label sample(s); "
                         "give one label image per image, with the same stack layout")
    n_objects = 0
    for i, (s, y) in enumerate(zip(sources, labels, strict=True)):
        if s.shape[:-1] != y.shape[:-1]:
            raise InputError(f"image and label image #{i} differ in shape: {s.shape[:-1]} vs {y.shape[:-1]}")
        if y.shape[-1] != 1:
            raise InputError(f"label image #{i} has {y.shape[-1]} channels; labels have one channel")
        lab = check_label_image(y, f"label image #{i}")
        n_objects += int(np.count_nonzero(np.unique(lab)))
    if n_objects == 0:
        raise InputError("the label images contain no objects (all background): nothing to learn")


def boundaries(labels: np.ndarray, width: int = 1) -> np.ndarray:
    """Boolean map of object pixels on an object's edge (``width`` pixels deep).

    Parameters
    ----------
    labels : ndarray of int
        2D or 3D label image.
    width : int
        Boundary thickness in pixels (1: the inner boundary only).
    """
    from scipy.ndimage import binary_dilation, generate_binary_structure
    from skimage.segmentation import find_boundaries

    edge = find_boundaries(labels, connectivity=1, mode="inner")
    if width > 1:
        # grow inwards only: a pixel is boundary when within width-1 steps of the edge, same object
        grown = binary_dilation(edge, generate_binary_structure(labels.ndim, 1), iterations=width - 1)
        edge = grown & (labels > 0)
    return edge & (labels > 0)


def three_class(labels: np.ndarray, width: int = 1) -> np.ndarray:
    """Class map (0 background, 1 interior, 2 boundary) of a label image."""
    lab = np.asarray(labels)
    cls = np.zeros(lab.shape, np.int8)
    cls[lab > 0] = INTERIOR
    cls[boundaries(lab, width)] = BOUNDARY
    return cls


def make_targets(labels: np.ndarray, width: int = 1) -> np.ndarray:
    """Training targets ``(*spatial, 4)`` float32 from a label sample ``(*spatial, 1)`` or ``(*spatial)``.

    Channels 0–2 are the one-hot classes (background, interior, boundary); channel 3 is the label id.
    """
    lab = np.asarray(labels)
    if lab.ndim >= 3 and lab.shape[-1] == 1:
        lab = lab[..., 0]
    lab = check_label_image(lab)
    cls = three_class(lab, width)
    out = np.zeros(lab.shape + (4,), np.float32)
    for c in range(3):
        out[..., c] = cls == c
    out[..., 3] = lab
    return out
