"""One command core for the in-process transport and the server worker (no JVM needed)."""

from __future__ import annotations

import numpy as np
import pytest

from fijax import __version__
from fijax.bridge.commands._run import call_function, run_command
from fijax.errors import InputError, NotFoundError
from fijax.io.image import Image
from fijax.server import worker


@pytest.fixture()
def image():
    return Image(np.random.default_rng(0).random((16, 16)).astype(np.float32), "YX", "a")


def test_first_output_takes_the_output_title(image):
    out = run_command("FiJAX Gaussian", "sigma=1 output=blur", {"image": image})
    assert list(out.images) == ["blur"] and out.images["blur"].title == "blur"
    plain = run_command("FiJAX Gaussian", "sigma=1", {"image": image})
    assert list(plain.images) == ["blurred"] and plain.images["blurred"].title == "blurred"
    np.testing.assert_array_equal(out.images["blur"].data, plain.images["blurred"].data)


def test_table_rows_else_one_row_of_scalar_values(image):
    qc = run_command("FiJAX QC", "", {"ground": image, "prediction": image.with_data(image.data * 0.9)})
    assert len(qc.rows) == 1 and qc.rows[0]["comparison"] == "prediction vs GT"  # the operation's table
    assert "pred_psnr=" in qc.message and qc.values["pred_psnr"] == qc.rows[0]["psnr"]
    info = run_command("FiJAX Info", "", {})
    assert info.rows == [info.values] and info.values["fijax"] == __version__  # no table: the values
    assert info.message.startswith(f"fijax={__version__} ")


def test_every_required_image_is_checked_first_included(image):
    # the shim passes the active image for the first option; when it is missing all the same, the
    # command fails naming it (the in-process transport used to skip the first key and fail later)
    with pytest.raises(InputError, match=r"^FiJAX QC: missing input image\(s\) for option\(s\): ground=$"):
        run_command("FiJAX QC", "", {"prediction": image})
    with pytest.raises(InputError, match="no image option 'target'; image options: ground, prediction, source"):
        run_command("FiJAX QC", "", {"ground": image, "prediction": image, "target": image})


def test_unknown_call_function_is_not_found_naming_the_known_ones():
    with pytest.raises(NotFoundError, match="unknown function 'nope' for call\\(\\); known: .*version.* and the "
                                            "operations .*gaussian"):
        call_function("nope", [], lambda op, titles: {})
    assert call_function("version", [], lambda op, titles: {}) == __version__


def test_call_resolves_image_titles_through_the_transport(image):
    seen = {}

    def images(operation, titles):
        seen.update(titles)
        return {"gt": image, "prediction": image.with_data(image.data * 0.9)}

    text = call_function("qc", ["gt=a prediction=b normalize=false data_range=1", "pred_psnr"], images)
    assert seen == {"gt": "a", "prediction": "b"}
    expected = 10 * np.log10(1.0 / np.mean((image.data - image.data * 0.9) ** 2))
    assert float(text) == pytest.approx(expected, rel=1e-4)


def test_worker_uses_the_same_core(image):
    """The HTTP twin returns what the core returns (plus ``message`` among the values)."""
    images, rows, values, files = worker._run_command("FiJAX Info", "", {}, None)
    core = run_command("FiJAX Info", "", {})
    assert (images, rows, files) == (core.images, core.rows, core.files)
    assert values == {**core.values, "message": core.message}
    with pytest.raises(InputError, match="takes no images"):
        worker._run_call("version", [], {"image": image}, None)
    with pytest.raises(NotFoundError, match="unknown function 'nope'"):
        worker._run_call("nope", [], {}, None)
