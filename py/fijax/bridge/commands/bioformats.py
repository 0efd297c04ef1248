"""The Bio-Formats Importer (and Exporter) that macros written for Fiji call, served through bioio.

Bio-Formats is not on Maven Central, so fijax's headless ImageJ has none; these stand-ins read the
same macro options and open files through :func:`fijax.io.microscopy.read_image` (TIFF, OME-TIFF,
OME-Zarr, CZI, ND2, LIF)::

    run("Bio-Formats Importer", "open=[/data/cells.czi] color_mode=Default view=Hyperstack stack_order=XYCZT series_2");
    run("Bio-Formats Windowless Importer", "open=/data/cells.nd2");
    run("Bio-Formats Exporter", "save=[/out/cells.ome.tif] compression=Uncompressed");

Options: ``open=`` (the file), ``series_N`` flags (1-based, as Bio-Formats records them; several
open several images) or ``series_list=1,3``, ``split_channels`` (one image per channel, titled
``<title> - C=<i>``). Display options (``color_mode``, ``view``, ``stack_order``, ``autoscale``,
``rois_import`` ...) change nothing headless and are accepted. Images are titled as Bio-Formats
titles them: the file name, or ``<file name> - <series name>`` for one series of a multi-series
file; calibration (microns) and channel names (slice labels) come with them.
"""

from __future__ import annotations

import re
from pathlib import Path

from fijax.bridge.commands import CommandCall, macro_command, macro_function
from fijax.errors import InputError
from fijax.ops import OpResult

_SERIES_FLAG = re.compile(r"series_(\d+)$")


def _path(call: CommandCall, key: str) -> Path:
    value = call.options.get(key) or call.options.get("id")
    if not value or value == "true":
        raise InputError(f"{call.label}: give the file as {key}=[PATH]")
    return Path(value).expanduser()


def _series(call: CommandCall) -> list[int]:
    """0-based series indices asked for (series_N flags and series_list are 1-based)."""
    picked = sorted(int(m.group(1)) - 1 for k, v in call.options.items()
                    if (m := _SERIES_FLAG.match(k)) and v != "false")
    if "series_list" in call.options:
        try:
            picked += [int(x) - 1 for x in re.split(r"[,\s]+", call.options["series_list"].strip()) if x]
        except ValueError:
            raise InputError(f"{call.label}: series_list must be numbers like 1,3; got "
                             f"{call.options['series_list']!r}") from None
    if any(i < 0 for i in picked):
        raise InputError(f"{call.label}: series are numbered from 1")
    return picked or [0]


def open_file(path: Path, series: list[int], split_channels: bool = False) -> dict:
    """Read the asked series of ``path`` as Bio-Formats would title them: ``{title: Image}``."""
    from fijax.io.microscopy import read_image, series_names

    names = series_names(path)
    out = {}
    for index in series:
        if index >= len(names):
            listing = ", ".join(f"{i + 1}: {n}" for i, n in enumerate(names))
            raise InputError(f"{path.name}: no series {index + 1}; the file has {len(names)} series ({listing})")
        title = path.name if len(names) == 1 else f"{path.name} - {names[index]}"
        image = read_image(path, title=title, series=index)
        if split_channels and "C" in image.axes:
            c = image.axes.index("C")
            for i in range(image.shape[c]):
                part = image.with_data(image.data.take(i, axis=c), axes=image.axes.replace("C", ""),
                                       title=f"{title} - C={i}")
                names_c = image.metadata.get("channel_names")
                part.metadata["channel_names"] = [names_c[i]] if names_c else []
                out[part.title] = part
        else:
            out[title] = image
    return out


@macro_command("Bio-Formats Importer", inputs=(), compat=True,
               summary="open a microscopy file (TIFF, OME-TIFF, OME-Zarr, CZI, ND2, LIF) through bioio")
def importer(call: CommandCall) -> OpResult:
    """``run("Bio-Formats Importer", "open=[PATH] ... series_N")``: open the file's series as images."""
    path = _path(call, "open")
    return OpResult(images=open_file(path, _series(call), call.options.get("split_channels") == "true"))


@macro_command("Bio-Formats Windowless Importer", inputs=(), compat=True,
               summary="open the first series of a microscopy file through bioio")
def windowless(call: CommandCall) -> OpResult:
    """``run("Bio-Formats Windowless Importer", "open=[PATH]")``: the first series, no options."""
    path = _path(call, "open")
    return OpResult(images=open_file(path, _series(call)))


@macro_command("Bio-Formats", inputs=(), compat=True, summary="same as the Bio-Formats Importer")
def bioformats(call: CommandCall) -> OpResult:
    return importer(call)


@macro_command("Bio-Formats Exporter", inputs=("image",), compat=True,
               summary="save the active image as OME-TIFF (.ome.tif), OME-Zarr (.ome.zarr) or TIFF")
def exporter(call: CommandCall) -> OpResult:
    """``run("Bio-Formats Exporter", "save=[PATH.ome.tif]")``: write the active image (calibration, channels)."""
    from fijax.io.microscopy import write_image

    path = _path(call, "save")
    write_image(path, call.images["image"])
    return OpResult(files={"saved": str(path)})


@macro_function("bioformats.info")
def series_info(path: str) -> str:
    """For ``Ext.setId``: one line per series, ``name X Y Z C T px py pz`` (tab-separated, microns)."""
    from fijax.io.microscopy import series_info as info

    lines = []
    for s in info(Path(path).expanduser()):
        lines.append("\t".join(str(v) for v in (s["name"], s["X"], s["Y"], s["Z"], s["C"], s["T"], *s["pixel_size"])))
    return "\n".join(lines)
