"""Files in and out: TIFF with calibration, atomic writes, datasets of matching files."""

from fijax.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from fijax.io.image import Image
from fijax.io.tiff import read_tiff, write_tiff

__all__ = ["Image", "atomic_path", "atomic_write_bytes", "atomic_write_text", "read_tiff", "write_tiff"]
