"""``FiJAX Segment``: instance segmentation with a trained model, over the ``segment`` operation.

::

    run("FiJAX Segment", "model=nuclei");                    // active image
    run("FiJAX Segment", "model=nuclei:2 samples=20 image=blobs output=blobs-labels");

Opens the label image (titled ``output=`` or ``labels``) and, unless ``probabilities=false``, the
class probability maps ``probabilities`` (background, interior, boundary); the Results table gets
one row per object: label, area (pixels), centroid and confidence (mean foreground probability;
with ``samples=N`` its Monte-Carlo mean and spread ``confidence_std``). Training is ``FiJAX Train``
with ``task=seg`` and the label image as ``target``.
"""

from __future__ import annotations

from fijax.bridge.commands import op_command

op_command("FiJAX Segment", "segment", inputs={"image": "image"},
           summary="instance segmentation (U-Net + watershed): labels image + Results rows with area and confidence")
