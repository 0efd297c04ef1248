"""The Java API ``fijax.ij.FiJAX``: operations called from Java reach the same Python ops."""

from __future__ import annotations

import numpy as np
import pytest

from fijax import ops
from fijax.io import Image

pytestmark = pytest.mark.jvm


def _jmap(d):
    import jpype

    m = jpype.JClass("java.util.LinkedHashMap")()
    for k, v in d.items():
        m.put(k, v)
    return m


def test_java_api_round_trip_matches_the_python_op(ij):
    import jpype

    FiJAX = jpype.JClass("fijax.ij.FiJAX")
    rng = np.random.default_rng(1)
    img = Image(rng.random((40, 36)).astype(np.float32), "YX", "blobs")
    imp = ij.to_imageplus(img)
    assert "gaussian" in list(FiJAX.operations()) and "compare_denoisers" in list(FiJAX.operations())
    assert list(FiJAX.imageInputs("qc")) == ["gt", "prediction", "source", "baseline"]
    r = FiJAX.run("gaussian", imp, _jmap({"sigma": jpype.JDouble(2.0), "sigma_y": jpype.JInt(3)}))
    out = ij.from_imageplus(r.image())
    expected = ops.get("gaussian")({"image": img}, {"sigma": 2.0, "sigma_y": 3.0}).images["blurred"].data
    assert out.shape == img.shape and np.array_equal(out.data, expected)  # bit-identical
    assert str(r.image().getTitle()) == "blurred"


def test_java_api_named_inputs_table_and_values(ij):
    import jpype

    FiJAX = jpype.JClass("fijax.ij.FiJAX")
    rng = np.random.default_rng(2)
    gt = rng.random((32, 32)).astype(np.float32)
    noisy = gt + rng.normal(0, 0.3, gt.shape).astype(np.float32)
    better = gt + rng.normal(0, 0.05, gt.shape).astype(np.float32)
    inputs = _jmap({"gt": ij.to_imageplus(gt), "prediction": ij.to_imageplus(better),
                    "source": ij.to_imageplus(noisy)})
    r = FiJAX.run("qc", inputs, _jmap({"maps": jpype.JBoolean(True)}))
    assert r.table.size() == 2 and str(r.table.getStringValue("comparison", 0)) == "prediction vs GT"
    pred_ssim, src_ssim = float(r.values.get("pred_ssim")), float(r.values.get("source_ssim"))
    assert pred_ssim > src_ssim
    assert str(r.values.get("verdict")) == "improves"
    assert r.images.size() >= 2  # SSIM and RSE maps come back as ImagePlus


def test_java_api_errors_name_the_problem(ij):
    import jpype

    FiJAX = jpype.JClass("fijax.ij.FiJAX")
    imp = ij.to_imageplus(np.zeros((16, 16), np.float32))
    Exc = jpype.JClass("fijax.ij.FiJAX$FiJAXException")
    with pytest.raises(Exc, match="sigma"):
        FiJAX.run("gaussian", imp, _jmap({"sigma": jpype.JDouble(-1.0)}))
    with pytest.raises(Exc, match="unknown operation"):
        FiJAX.run("no_such_op", imp, None)
    with pytest.raises(Exc, match="needs input"):
        FiJAX.run("qc", _jmap({"gt": imp}), None)
