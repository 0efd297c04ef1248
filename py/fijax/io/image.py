"""The image value every layer passes around: pixels plus axes and calibration."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from fijax.errors import InputError

#: Axis letters in the order ImageJ hyperstacks use, reversed to NumPy's C order
#: (PyImageJ's convention for ImagePlus): T, Z, C, Y, X.
CANONICAL_AXES = "TZCYX"


@dataclass
class Image:
    """An image with its axes and spatial calibration.

    Attributes
    ----------
    data : numpy.ndarray
        Pixels, C order. Axes named by ``axes`` (a subsequence of ``"TZCYX"``).
    axes : str
        One letter per dimension of ``data``, e.g. ``"YX"``, ``"ZYX"``, ``"TZCYX"``.
    title : str
        ImageJ window title / file stem.
    pixel_size : tuple of float, optional
        Physical size of one pixel along (Z, Y, X); missing axes are 1.0.
    unit : str, optional
        Physical unit of ``pixel_size`` (``"micron"``, ``"nm"`` ...); ``None`` when uncalibrated.
    metadata : dict
        Free-form extra metadata (e.g. ImageJ info, microscope fields found in a file).
    """

    data: np.ndarray
    axes: str = ""
    title: str = "image"
    pixel_size: tuple[float, float, float] | None = None
    unit: str | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data)
        if not self.axes:
            self.axes = default_axes(self.data.ndim)
        if len(self.axes) != self.data.ndim:
            raise InputError(f"axes {self.axes!r} do not match an array of {self.data.ndim} dimensions")
        if any(a not in CANONICAL_AXES for a in self.axes) or len(set(self.axes)) != len(self.axes):
            raise InputError(f"axes {self.axes!r} must be distinct letters from {CANONICAL_AXES!r}")

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def with_data(self, data: np.ndarray, axes: str | None = None, title: str | None = None) -> Image:
        """Return a copy carrying new pixels but the same calibration."""
        return replace(self, data=np.asarray(data), axes=axes or self.axes, title=title or self.title,
                       metadata=dict(self.metadata))


def default_axes(ndim: int) -> str:
    """Axes assumed for a bare array: ``YX``, then ``ZYX``, then ``TZYX`` / ``TZCYX``."""
    if ndim < 2 or ndim > 5:
        raise InputError(f"expected an image with 2 to 5 dimensions, got {ndim}")
    return {2: "YX", 3: "ZYX", 4: "TZYX", 5: "TZCYX"}[ndim]
