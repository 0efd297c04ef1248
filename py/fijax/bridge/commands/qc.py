"""``FiJAX QC`` and ``FiJAX QC Labels``: macro commands over the ``qc`` and ``qc_labels`` operations.

::

    run("FiJAX QC", "ground=[GT] prediction=[Prediction] source=[Raw]");
    run("FiJAX QC", "ground=[GT] prediction=[Prediction] source=[Raw] baseline=puredenoise");
    run("FiJAX QC", "ground=[GT] prediction=[Prediction] source=[Raw] baseline=[Other method]");
    run("FiJAX QC", "ground=[GT] prediction=[Prediction] normalize=false data_range=255");
    run("FiJAX QC Labels", "ground=[GT labels] prediction=[Labels] thresholds=[0.5 0.75 0.9]");

``FiJAX QC`` fills the Results table with one row per comparison and slice (``prediction vs GT``,
``source vs GT`` and ``baseline vs GT``: ssim, psnr, rmse, nrmse, sqrt_mae, the structure metrics
fg_ssim, fg_psnr, fg_rmse, and the verdict) and opens the SSIM and RSE maps
(``SSIM_GTvsPrediction_<GT title>`` ...) as images. Single metrics through ``call()`` (the
operation's input names, values named like ``metrics.csv`` columns)::

    ssim = call("fijax.ij.Bridge.call", "qc", "gt=[GT] prediction=[Prediction]", "pred_ssim");
    verdict = call("fijax.ij.Bridge.call", "qc", "gt=[GT] prediction=[P] source=[Raw]", "verdict");
    f1 = call("fijax.ij.Bridge.call", "qc_labels", "gt=[GT labels] prediction=[Labels] thresholds=0.5", "f1");
"""

from __future__ import annotations

from fijax.bridge.commands import CommandCall, macro_command, op_command, parse_options
from fijax.ops import OpResult


@macro_command("FiJAX QC", inputs={"ground": "gt", "prediction": "prediction", "source": "source",
                                   "baseline": "baseline"},
               optional_inputs=("source", "baseline"), op="qc",
               summary="QC against ground truth: Results rows for prediction, source and baseline vs GT "
                       "(image and structure), verdict, SSIM and RSE maps")
def qc_command(call: CommandCall) -> OpResult:
    """``baseline=`` names an open image or the method ``puredenoise`` (computed from ``source=``).

    The Java command passes the word ``puredenoise`` through instead of resolving it as an image
    title; it reaches the operation as its ``baseline`` option.
    """
    from fijax import ops

    opts = dict(call.options)
    if "baseline" not in call.images:
        word = parse_options(call.raw_options).get("baseline")
        if word is not None:
            opts["baseline"] = word
    return ops.get("qc")(call.images, opts, call.ctx)


op_command("FiJAX QC Labels", "qc_labels", inputs={"ground": "gt", "prediction": "prediction"},
           summary="Instance-segmentation QC (StarDist matching) over thresholds: one Results row per threshold")
