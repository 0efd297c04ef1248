"""``FiJAX Compare Denoisers``: the flagship workflow as one macro command (over ``compare_denoisers``).

::

    run("FiJAX Compare Denoisers", "image=noisy gt=gt gaussian=[noisy-gauss] median=[noisy-median] "
        + "model=demo-denoiser out=[/path/to/folder]");

Image options name open images by title (``image`` defaults to the active image; ``gaussian`` and
``median`` pass ImageJ's own filter outputs, otherwise fijax computes them). ``out=`` is the folder
for ``comparison.csv``, ``comparison.png`` and ``provenance.json``. Every other option is an option of
the ``compare_denoisers`` operation. The Results table gets one row per method; the outputs and the
SSIM/RSE maps (or, without ``gt``, the MC-dropout uncertainty maps) open as images.
"""

from __future__ import annotations

import dataclasses

from fijax import ops
from fijax.bridge.commands import CommandCall, macro_command
from fijax.ops import OpResult


@macro_command("FiJAX Compare Denoisers", inputs=("image", "gt", "gaussian", "median"),
               optional_inputs=("gt", "gaussian", "median"), op="compare_denoisers",
               summary="DL model(s) vs Gaussian, Median and PureDenoise against GT, with SSIM/RSE maps, "
                       "figure and CSV (out=[folder])")
def compare_denoisers(call: CommandCall) -> OpResult:
    """Run ``compare_denoisers``; ``out=`` becomes the operation's output folder."""
    options = dict(call.options)
    out = options.pop("out", None)
    ctx = dataclasses.replace(call.ctx, out_dir=call.ctx.output_path(out) if out else None)
    return ops.get("compare_denoisers")(call.images, options, ctx)
