"""``FiJAX Report``: reports from a macro (thin adapter over ``report_model`` / ``report_qc``).

``run("FiJAX Report", "model=NAME[:VERSION] [out=FOLDER]")`` writes the training report;
``run("FiJAX Report", "qc=DIR [model=NAME[:VERSION]] [origin=[text]] [out=FOLDER]")`` the QC report.
The Results row holds the report paths (and verdict for QC); the methods paragraph goes to the log.
"""

from __future__ import annotations

from fijax import ops
from fijax.bridge.commands import CommandCall, macro_command
from fijax.errors import InputError
from fijax.ops import OpResult


@macro_command("FiJAX Report", inputs=(), summary="training report (model=) or QC report (qc=) as HTML + JSON",
               op="report_model")
def report(call: CommandCall) -> OpResult:
    """Dispatch on ``qc=``: QC report of that folder, else the training report of ``model=``."""
    opts = dict(call.options)
    if "qc" in opts:
        opts["qc_dir"] = opts.pop("qc")
        return ops.get("report_qc")({}, opts, call.ctx)
    if "model" not in opts:
        raise InputError("FiJAX Report needs model=NAME[:VERSION] (training report) or qc=DIR (QC report)")
    return ops.get("report_model")({}, opts, call.ctx)
