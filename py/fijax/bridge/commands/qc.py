"""``FiJAX QC`` and ``FiJAX QC Labels``: macro commands over the ``qc`` and ``qc_labels`` operations.

::

    run("FiJAX QC", "ground=[GT] prediction=[Prediction] source=[Raw]");
    run("FiJAX QC", "ground=[GT] prediction=[Prediction] normalize=false data_range=255");
    run("FiJAX QC Labels", "ground=[GT labels] prediction=[Labels] thresholds=[0.5 0.75 0.9]");

``FiJAX QC`` fills the Results table with one row per comparison and slice (``prediction vs GT`` and
``source vs GT``: ssim, psnr, rmse, nrmse, sqrt_mae, verdict) and opens the SSIM and RSE maps
(``SSIM_GTvsPrediction_<GT title>`` ...) as images. Single metrics through ``call()`` (the
operation's input names, values named like ``metrics.csv`` columns)::

    ssim = call("fijax.ij.Bridge.call", "qc", "gt=[GT] prediction=[Prediction]", "pred_ssim");
    verdict = call("fijax.ij.Bridge.call", "qc", "gt=[GT] prediction=[P] source=[Raw]", "verdict");
    f1 = call("fijax.ij.Bridge.call", "qc_labels", "gt=[GT labels] prediction=[Labels] thresholds=0.5", "f1");
"""

from __future__ import annotations

from fijax.bridge.commands import op_command

op_command("FiJAX QC", "qc", inputs={"ground": "gt", "prediction": "prediction", "source": "source"},
           summary="QC against ground truth: Results rows for prediction and source vs GT, SSIM and RSE maps")

op_command("FiJAX QC Labels", "qc_labels", inputs={"ground": "gt", "prediction": "prediction"},
           summary="Instance-segmentation QC (StarDist matching) over thresholds: one Results row per threshold")
