"""``FiJAX PureDenoise``: the PureDenoise plugin's macro command, over the ``puredenoise`` operation.

Existing macros port by renaming the command::

    run("PureDenoise ", "parameters='3 4' estimation='Auto Global'");
    run("FiJAX PureDenoise", "parameters='3 4' estimation=[Auto Global]");
    run("FiJAX PureDenoise", "parameters=[1 1] estimation=[Manual 1.0 0.0 1.0]");
    run("FiJAX PureDenoise", "parameters=[1 4] estimation=[Manual] gain=2 offset=100 sigma=3");

The output image is titled ``Denoised-<title>`` (or ``output=``); the Results table gets one row
per frame with the alpha, delta and sigma used.
"""

from __future__ import annotations

from fijax import ops
from fijax.bridge.commands import CommandCall, macro_command
from fijax.ops import OpResult
from fijax.ops.puredenoise import parse_macro_options


@macro_command("FiJAX PureDenoise", inputs=("image",), op="puredenoise",
               summary="PURE-LET denoising with the PureDenoise plugin's options (parameters='NF CS' estimation=...)")
def pure_denoise(call: CommandCall) -> OpResult:
    """Map the plugin's options (from the raw string: quoted values keep their spaces) and run the op."""
    options = parse_macro_options(call.raw_options)
    return ops.get("puredenoise")(call.images, options, call.ctx)
