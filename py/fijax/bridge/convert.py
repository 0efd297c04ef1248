"""numpy <-> ImageJ 1.x ``ImagePlus``, bulk copies through JPype's buffer support.

Axis mapping (PyImageJ's convention for ``ImagePlus``): an :class:`fijax.io.Image` holds a subsequence
of ``TZCYX`` in C order, i.e. the reverse of ImageJ's fastest-to-slowest ``XYCZT``. ImageJ stores a
hyperstack as one plane (``Y`` rows of ``X`` pixels) per (c, z, t) with the channel varying fastest:
stack index ``c + z*C + t*C*Z`` (0-based). A C-order ``(T, Z, C, Y, X)`` array flattened to
``(T*Z*C, Y, X)`` lists its planes in exactly that order, so each plane is one contiguous block copied
with one bulk JPype array copy.

Copies, no per-pixel Python work: numpy -> Java, a Java direct buffer views the numpy memory
(``jpype.nio``) and Java copies each plane into ImageJ's new pixel array in one bulk ``get``;
Java -> numpy, a direct buffer over a new numpy array and one bulk ``put`` per plane.

dtypes: uint8 <-> 8-bit (``byte[]``), uint16 <-> 16-bit (``short[]``), float32 <-> 32-bit
(``float[]``), bit-exact. Other dtypes follow :func:`fijax.io.write_tiff`'s documented policy:
bool -> uint8 (0/1 kept), other integers -> uint16 when all values fit, else float32, float64 ->
float32; complex and non-numeric dtypes are refused with :class:`fijax.errors.InputError`. RGB images
(``COLOR_RGB``) come back as uint8 with a ``C`` axis of 3.

Calibration: ``Image.pixel_size`` ``(z, y, x)`` <-> ``pixelDepth``, ``pixelHeight``, ``pixelWidth``;
``Image.unit`` <-> the calibration unit (``None`` <-> ImageJ's ``"pixel"``).
"""

from __future__ import annotations

import threading

import numpy as np

from fijax.errors import InputError
from fijax.io.image import CANONICAL_AXES, Image

#: numpy dtype -> (ImageJ bit depth, Java primitive name, numpy view type of the Java array)
_NATIVE = {
    np.dtype(np.uint8): (8, "byte", np.int8),
    np.dtype(np.uint16): (16, "short", np.int16),
    np.dtype(np.float32): (32, "float", np.float32),
}


def imagej_dtype(data: np.ndarray) -> np.ndarray:
    """Return ``data`` in a dtype ImageJ stores natively (see module docstring for the policy)."""
    dt = data.dtype
    if dt in _NATIVE:
        return data
    if dt == np.dtype(bool):
        return data.astype(np.uint8)
    if np.issubdtype(dt, np.integer):
        if data.size == 0 or (data.min() >= 0 and data.max() <= np.iinfo(np.uint16).max):
            return data.astype(np.uint16)
        return data.astype(np.float32)
    if np.issubdtype(dt, np.floating):
        return data.astype(np.float32)
    raise InputError(f"cannot hand an image of dtype {dt} to ImageJ (supported: uint8, uint16, float32; "
                     "bool, other integers and floats are converted)")


def to_canonical(image: Image) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Return ``(array of shape (T, Z, C, Y, X) in C order, (C, Z, T))``."""
    data = image.data
    missing = [a for a in CANONICAL_AXES if a not in image.axes]
    full = np.expand_dims(data, tuple(range(len(missing)))) if missing else data
    order = [(missing + list(image.axes)).index(a) for a in CANONICAL_AXES]
    full = np.transpose(full, order)
    t, z, c = full.shape[:3]
    return full, (c, z, t)


def to_imageplus(image: Image):
    """Build an ``ij.ImagePlus`` holding a copy of ``image`` (hyperstack when C, Z or T > 1)."""
    import jpype

    if not isinstance(image, Image):
        image = Image(np.asarray(image))
    full, (c, z, t) = to_canonical(image)
    full = imagej_dtype(full)
    if full.ndim != 5 or full.shape[-1] == 0 or full.shape[-2] == 0:
        raise InputError(f"cannot hand an empty image of shape {image.shape} to ImageJ")
    height, width = full.shape[-2:]
    bits, prim, view = _NATIVE[full.dtype]
    planes = np.ascontiguousarray(full.reshape(-1, height, width))
    if not planes.flags.writeable:  # JPype wraps only writable buffers
        planes = planes.copy()
    JArray = jpype.JArray(getattr(jpype, "J" + prim.capitalize()))
    ImageStack = jpype.JClass("ij.ImageStack")
    ImagePlus = jpype.JClass("ij.ImagePlus")
    stack = ImageStack(int(width), int(height))
    for plane in planes:
        pixels = JArray(int(width) * int(height))
        _typed_buffer(plane, prim).get(pixels)
        stack.addSlice(None, pixels)
    names = (image.metadata or {}).get("channel_names")
    if names and len(names) == c:  # Bio-Formats shows channel names as slice labels
        for n in range(int(c) * int(z) * int(t)):
            stack.setSliceLabel(str(names[n % int(c)]), n + 1)
    imp = ImagePlus(image.title, stack)
    imp.setDimensions(int(c), int(z), int(t))
    if c * z * t > 1 and (c > 1 or (z > 1 and t > 1)):
        imp.setOpenAsHyperStack(True)
    if c > 1:
        # Multi-channel images are CompositeImages in ImageJ (as TIFF and Bio-Formats open them):
        # "Split Channels", "Channels Tool", Stack.setDisplayMode need one, and a 2-D multi-channel
        # ImagePlus is not even a hyperstack (3 dimensions).
        imp = jpype.JClass("ij.CompositeImage")(imp, jpype.JClass("ij.CompositeImage").COLOR)
    cal = imp.getCalibration()
    if image.pixel_size is not None:
        pz, py, px = (float(v) for v in image.pixel_size)
        cal.pixelDepth, cal.pixelHeight, cal.pixelWidth = pz, py, px
        cal.setUnit(image.unit or "pixel")
    _store_axes(imp, image.axes)
    return imp


def _typed_buffer(array: np.ndarray, prim: str):
    """A Java ``FloatBuffer``/``ShortBuffer``/``ByteBuffer`` viewing ``array``'s memory (no copy).

    ``get(javaArray)`` / ``put(javaArray)`` on it are single bulk copies done by Java (memcpy speed),
    much faster than JPype's element conversion of a numpy array.
    """
    import jpype
    import jpype.nio

    buf = jpype.nio.convertToDirectBuffer(array).order(jpype.JClass("java.nio.ByteOrder").nativeOrder())
    if prim == "float":
        return buf.asFloatBuffer()
    if prim == "short":
        return buf.asShortBuffer()
    return buf


_STAGING_LOCK = threading.Lock()
_STAGING: dict[str, np.ndarray] = {}
_STAGING_VIEWS: dict[str, object] = {}


def _staging(nbytes: int, prim: str) -> tuple[np.ndarray, object]:
    """A process-wide byte buffer of at least ``nbytes`` and its Java buffer view typed ``prim``."""
    buf = _STAGING.get("bytes")
    if buf is None or buf.nbytes < nbytes:
        buf = np.empty(max(nbytes, 1 << 20), np.uint8)
        _STAGING.clear()
        _STAGING_VIEWS.clear()
        _STAGING["bytes"] = buf
    if prim not in _STAGING_VIEWS:
        _STAGING_VIEWS[prim] = _typed_buffer(buf, prim)
    return buf, _STAGING_VIEWS[prim]


def _store_axes(imp, axes: str) -> None:
    # ImageJ cannot tell "a 3D stack of Z" from "a time series of one plane each" once C/Z/T are
    # set, but it can: keep the exact axes string so a round trip restores singleton-free axes.
    imp.setProp("fijax.axes", axes)


def from_imageplus(imp, title: str | None = None) -> Image:
    """Copy an ``ij.ImagePlus`` into an :class:`fijax.io.Image` (axes ``TZCYX`` minus singletons).

    When the image came from :func:`to_imageplus` and its dimensions are unchanged, the original
    axes (including singletons it had) are restored.
    """

    if imp is None:
        raise InputError("no image")
    width, height = int(imp.getWidth()), int(imp.getHeight())
    c, z, t = int(imp.getNChannels()), int(imp.getNSlices()), int(imp.getNFrames())
    stack = imp.getStack()
    n = int(stack.getSize())
    if n != c * z * t:  # inconsistent dimensions: treat as a plain stack
        c, z, t = 1, n, 1
    bits = int(imp.getBitDepth())
    if bits == 24:
        if c != 1:
            raise InputError("RGB images with several channels are not supported; split them first")
        rgb = np.empty((n, height, width, 3), np.uint8)
        for i in range(n):
            packed = np.asarray(stack.getProcessor(i + 1).getPixels(), dtype=np.int32).view(np.uint32)
            packed = packed.reshape(height, width)
            rgb[i] = np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], axis=-1)
        # (T, Z, Y, X, RGB) -> (T, Z, C=3, Y, X)
        full = np.moveaxis(rgb.reshape(t, z, height, width, 3), -1, 2)
    else:
        dtype = {8: np.uint8, 16: np.uint16, 32: np.float32}.get(bits)
        if dtype is None:
            raise InputError(f"unsupported ImageJ bit depth {bits}")
        prim = _NATIVE[np.dtype(dtype)][1]
        full = np.empty((n, height, width), dtype)
        with _STAGING_LOCK:
            stage, view = _staging(full[0].nbytes, prim)
            for i in range(n):
                pixels = stack.getPixels(i + 1)
                # (not isinstance(pixels, jpype.JArray): that check costs ~10x the copy of a 4096² plane)
                if pixels is None:
                    raise InputError(f"plane {i + 1} of {imp.getTitle()!r} holds no pixel array")
                # Java's first write into memory it has not written before is slow (~15x a memcpy
                # measured for 64 MiB), so Java copies into a reused staging buffer and numpy
                # copies from there into the new array.
                view.rewind()
                view.put(pixels)
                full[i] = stage[: full[i].nbytes].view(dtype).reshape(height, width)
        full = full.reshape(t, z, c, height, width)
    keep = [a for a, size in zip(CANONICAL_AXES, full.shape, strict=True) if size > 1 or a in "YX"]
    axes = "".join(keep)
    stored = imp.getProp("fijax.axes")
    if stored:
        stored = str(stored)
        if set(keep) <= set(stored) and all(full.shape[CANONICAL_AXES.index(a)] == 1
                                            for a in CANONICAL_AXES if a not in stored):
            axes = "".join(a for a in CANONICAL_AXES if a in stored)
    data = full.reshape(tuple(full.shape[CANONICAL_AXES.index(a)] for a in axes))
    cal = imp.getCalibration()
    unit = str(cal.getUnit()) if cal is not None else "pixel"
    pixel_size = None
    if cal is not None and cal.scaled() and unit not in ("pixel", "pixels", ""):
        pixel_size = (float(cal.pixelDepth), float(cal.pixelHeight), float(cal.pixelWidth))
    else:
        unit = None
    metadata = {}
    if c > 1 and bits != 24:  # channel names as Bio-Formats (and fijax) store them: slice labels
        labels = [stack.getSliceLabel(i + 1) for i in range(c)]
        if all(label is not None and str(label).strip() and "\n" not in str(label) for label in labels):
            metadata["channel_names"] = [str(label) for label in labels]
    return Image(data=data, axes=axes, title=title or str(imp.getTitle()), pixel_size=pixel_size, unit=unit,
                 metadata=metadata)
