"""Helpers of the report tests: calibrated synthetic TIFFs, an HTML reader, PNG and venv checks."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import tifffile

MICROSCOPE_INFO = "Microscope: TestScope 3000; Objective: 63x/1.4 Oil; Exposure: 20 ms"


def write_calibrated(path: Path, data: np.ndarray, pixel_um: float = 0.13) -> Path:
    """An ImageJ TIFF with µm calibration and an info string (what a microscope export carries)."""
    tifffile.imwrite(path, data.astype(np.float32), imagej=True, resolution=(1 / pixel_um, 1 / pixel_um),
                     metadata={"axes": "YX", "unit": "micron", "info": MICROSCOPE_INFO})
    return path


def synthetic_pair(seed: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Blurry blobs (GT) and a Poisson-Gaussian noisy version (source)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    gt = gaussian_filter((rng.random((size, size)) > 0.97).astype(np.float32) * 200, 2.0) + 10
    src = rng.poisson(gt).astype(np.float32) + rng.normal(0, 3, gt.shape).astype(np.float32)
    return gt.astype(np.float32), src


class Doc(HTMLParser):
    """What the tests read from a report: sections, tables (rows of cell texts), figures, embedded JSON."""

    def __init__(self, text: str):
        super().__init__()
        self.sections: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.images: dict[str, str] = {}
        self.paragraphs: dict[str, str] = {}
        self.divs: dict[str, str] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._figure: str | None = None
        self._p: str | None = None
        self._div: str | None = None
        self._script = False
        self.script = ""
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id", ""))
        elif tag == "table":
            self._table = a.get("id", "")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "figure":
            self._figure = a.get("id", "")
        elif tag == "img" and self._figure is not None:
            self.images[self._figure] = a.get("src", "")
        elif tag == "p" and a.get("id"):
            self._p = a["id"]
            self.paragraphs[self._p] = ""
        elif tag == "div" and a.get("id"):
            self._div = a["id"]
            self.divs[self._div] = ""
        elif tag == "script" and a.get("id") == "fijax-facts":
            self._script = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "figure":
            self._figure = None
        elif tag == "p":
            self._p = None
        elif tag == "div":
            self._div = None
        elif tag == "script":
            self._script = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._p is not None:
            self.paragraphs[self._p] += data
        if self._div is not None:
            self.divs[self._div] += data
        if self._script:
            self.script += data

    def kv(self, table: str) -> dict[str, str]:
        """A two-column table as ``{key: value}``."""
        return {r[0]: r[1] for r in self.tables[table] if len(r) == 2}

    def column(self, table: str, name: str) -> list[str]:
        """One column of a table with a header row."""
        head, *rows = self.tables[table]
        i = head.index(name)
        return [r[i] for r in rows]


def png_ok(data_uri: str) -> bool:
    """A ``data:image/png;base64`` URI holding a real PNG."""
    import base64

    prefix = "data:image/png;base64,"
    return data_uri.startswith(prefix) and base64.b64decode(data_uri[len(prefix):])[:8] == b"\x89PNG\r\n\x1a\n"


def bioimageio_python() -> str | None:
    """Python of a separate environment with ``bioimageio.core`` (its pydantic pin conflicts with ours)."""
    cand = os.environ.get("FIJAX_BIOIMAGEIO_PYTHON") or "/tmp/bioimageio-venv/bin/python"
    return cand if Path(cand).is_file() else None
