"""Hostile command lines: one clear ``fijax CMD: error: ...`` line and a nonzero exit, never a traceback.

Each case runs :func:`fijax.cli.main.main` in-process (fast) and checks the exit code, that
stderr has no traceback, and what must (not) have been written.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hostile_live import bomb_tiff, register_untrained

from fijax.cli.main import main

IMG = (np.random.default_rng(1).random((32, 32)) * 200).astype(np.float32)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


@pytest.fixture()
def files(tmp_path):
    """A few inputs: good TIFFs, a 6-byte TIFF, a bool TIFF, a regular file to put --out under."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    tifffile.imwrite(tmp_path / "a" / "x.tif", IMG)
    tifffile.imwrite(tmp_path / "b" / "x.tif", IMG + 1)
    tifffile.imwrite(tmp_path / "gt.tif", IMG)
    tifffile.imwrite(tmp_path / "bool.tif", IMG > 100)
    tifffile.imwrite(tmp_path / "labels.tif", (IMG > 100).astype(np.uint16))
    (tmp_path / "six.tif").write_bytes(b"II*\x00\x08\x00")
    (tmp_path / "regular").write_text("a file, not a folder")
    return tmp_path


@pytest.fixture()
def model(tmp_path):
    home = Path(os.environ["FIJAX_HOME"])
    return register_untrained(home, "den")


# -- each line of the issue ---------------------------------------------------------------------
@pytest.mark.parametrize("case", [
    "qc_six_byte_tiff", "macro_six_byte_input", "qc_out_under_file", "puredenoise_out_under_file",
    "predict_out_under_file", "macro_out_under_file", "macro_non_utf8", "macro_timeout_negative",
    "puredenoise_seed_negative", "thresholds_out_of_range", "qc_corrupt_thresholds", "models_huge_version",
    "serve_unwritable_token_file", "predict_batch_size_zero", "cli_bomb", "train_seed_negative",
    "max_decoded_invalid", "compare_out_under_file", "batch_out_under_file", "script_out_under_file",
    "batch_bad_ops_module",
])
def test_bad_command_lines_exit_with_one_clear_line(capsys, files, case):
    f = files
    if case == "qc_six_byte_tiff":
        code, _, err = run_cli(capsys, "qc", "--gt", f / "six.tif", "--prediction", f / "gt.tif", "--out", f / "o")
    elif case == "macro_six_byte_input":
        (f / "m.ijm").write_text('print("x");')
        code, _, err = run_cli(capsys, "macro", f / "m.ijm", "--input", f"img={f / 'six.tif'}", "--out", f / "o")
    elif case == "qc_out_under_file":
        code, _, err = run_cli(capsys, "qc", "--gt", f / "gt.tif", "--prediction", f / "gt.tif",
                               "--out", f / "regular" / "qc")
    elif case == "puredenoise_out_under_file":
        code, _, err = run_cli(capsys, "puredenoise", f / "gt.tif", "--out", f / "regular" / "x.tif")
    elif case == "predict_out_under_file":
        code, _, err = run_cli(capsys, "predict", f / "gt.tif", "--model", "den", "--out", f / "regular" / "o")
    elif case == "macro_out_under_file":
        (f / "m.ijm").write_text('print("x");')
        code, _, err = run_cli(capsys, "macro", f / "m.ijm", "--out", f / "regular" / "o")
    elif case == "macro_non_utf8":
        (f / "m.ijm").write_bytes(b'print("\xff\xfe");')
        code, _, err = run_cli(capsys, "macro", f / "m.ijm", "--out", f / "o")
        assert "UTF-8" in err
    elif case == "macro_timeout_negative":
        (f / "m.ijm").write_text('print("x");')
        code, _, err = run_cli(capsys, "macro", f / "m.ijm", "--out", f / "o", "--timeout", "-1")
    elif case == "puredenoise_seed_negative":
        code, _, err = run_cli(capsys, "puredenoise", f / "gt.tif", "--out", f / "pd.tif", "--seed", "-1")
        assert "seed" in err
    elif case == "thresholds_out_of_range":
        code, _, err = run_cli(capsys, "qc", "--labels", "--gt", f / "labels.tif", "--prediction", f / "labels.tif",
                               "--thresholds", "2,-1", "--out", f / "o")
        assert "between 0 and 1" in err
    elif case == "qc_corrupt_thresholds":
        code, _, err = run_cli(capsys, "qc", "--labels", "--gt", f / "labels.tif", "--prediction", f / "labels.tif",
                               "--thresholds", "0.5,nan", "--out", f / "o")
    elif case == "models_huge_version":
        code, _, err = run_cli(capsys, "models", "show", "den:99999999999999999999999")
        assert "version" in err
    elif case == "serve_unwritable_token_file":
        code, _, err = run_cli(capsys, "serve", "--port", "0", "--token-file", f / "regular" / "token")
        assert "token file" in err
    elif case == "predict_batch_size_zero":
        code, _, err = run_cli(capsys, "predict", f / "gt.tif", "--model", "den", "--out", f / "p.tif",
                               "--batch-size", "0")
        assert "--batch-size" in err
    elif case == "cli_bomb":
        bomb_tiff(f / "bomb.tif", 20000)
        code, _, err = run_cli(capsys, "puredenoise", f / "bomb.tif", "--out", f / "pd.tif")
        assert "decompression bomb" in err
    elif case == "train_seed_negative":
        code, _, err = run_cli(capsys, "train", "n2v", "--source", f / "gt.tif", "--name", "t", "--seed", "-1")
        assert "seed" in err
    elif case == "max_decoded_invalid":
        code, _, err = run_cli(capsys, "--max-decoded-mb", "-5", "puredenoise", f / "gt.tif", "--out", f / "pd.tif")
    elif case == "compare_out_under_file":
        code, _, err = run_cli(capsys, "compare", "--gt", f / "gt.tif", "--method", f"m={f / 'gt.tif'}",
                               "--out", f / "regular" / "c")
    elif case == "batch_out_under_file":
        code, _, err = run_cli(capsys, "batch", "puredenoise", "--in", f / "a", "--out", f / "regular" / "b",
                               "--no-progress")
    elif case == "script_out_under_file":
        (f / "s.groovy").write_text("println 1\n")
        code, _, err = run_cli(capsys, "script", f / "s.groovy", "--out", f / "regular" / "s")
    elif case == "batch_bad_ops_module":
        code, _, err = run_cli(capsys, "batch", "puredenoise", "--in", f / "a", "--out", f / "bo",
                               "--ops-module", "no_such_module_xyz", "--no-progress")
        assert "no_such_module_xyz" in err
    assert code == 2, (case, code, err)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert lines and "error" in lines[-1], err
    assert not (f / "o").exists() and not (f / "pd.tif").exists() and not (f / "p.tif").exists()


def test_explicit_decoded_limit_applies(capsys, files):
    tifffile.imwrite(files / "big.tif", np.zeros((512, 512), np.float32))  # 1 MiB decoded
    code, _, err = run_cli(capsys, "--max-decoded-mb", "0.5", "puredenoise", files / "big.tif", "--out",
                           files / "pd.tif")
    assert code == 2 and "limit" in err and not (files / "pd.tif").exists()


def test_bool_prediction_is_measured(capsys, files):
    code, out, err = run_cli(capsys, "qc", "--labels", "--gt", files / "labels.tif", "--prediction",
                             files / "bool.tif", "--out", files / "q")
    assert code == 0, err
    assert (files / "q" / "matching.csv").is_file()


def test_nan_is_reported_against_the_prediction(capsys, files):
    (files / "gtd").mkdir()
    (files / "pd").mkdir()
    tifffile.imwrite(files / "gtd" / "p1.tif", IMG)
    bad = IMG.copy()
    bad[2, 2] = np.nan
    tifffile.imwrite(files / "pd" / "p1.tif", bad)
    code, _, err = run_cli(capsys, "qc", "--gt", files / "gtd", "--prediction", files / "pd", "--out", files / "q")
    assert code == 2 and "prediction" in err and "NaN" in err


def test_unwritable_out_is_refused_before_computing(capsys, files):
    if os.geteuid() == 0:
        pytest.skip("root writes everywhere: no unwritable folder to test with")
    locked = files / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = run_cli(capsys, "puredenoise", files / "gt.tif", "--out", locked / "x.tif")
        assert code == 2 and "permission" in err
    finally:
        locked.chmod(0o700)


# -- data loss: collisions and in-place overwrite -----------------------------------------------
def test_predict_two_inputs_same_name_refused(capsys, files, model):
    code, _, err = run_cli(capsys, "predict", files / "a" / "x.tif", files / "b" / "x.tif", "--model", "den",
                           "--out", files / "dir")
    assert code == 2 and "both be written" in err
    assert not (files / "dir").exists()


def test_puredenoise_in_place_refused(capsys, files):
    before = (files / "gt.tif").read_bytes()
    code, _, err = run_cli(capsys, "puredenoise", files / "gt.tif", "--out", files / "gt.tif")
    assert code == 2 and "input" in err
    assert (files / "gt.tif").read_bytes() == before
    # the same file by another spelling
    code, _, err = run_cli(capsys, "puredenoise", files / "gt.tif", "--out", files / "a" / ".." / "gt.tif")
    assert code == 2 and (files / "gt.tif").read_bytes() == before


# the 32x32 uniform-noise image is too small for a noise estimate (refused, rightly): give the parameters
NOISE = ("--alpha", "1", "--delta", "0", "--sigma", "5")


def test_replacing_an_output_is_said(capsys, files):
    out = files / "pd.tif"
    assert run_cli(capsys, "puredenoise", files / "gt.tif", "--out", out, "--cycle-spins", "1", *NOISE)[0] == 0
    code, _, err = run_cli(capsys, "puredenoise", files / "gt.tif", "--out", out, "--cycle-spins", "1", *NOISE)
    assert code == 0 and "replacing" in err


def test_user_outputs_follow_the_umask(capsys, files):
    old = os.umask(0o022)
    try:
        assert run_cli(capsys, "puredenoise", files / "gt.tif", "--out", files / "pd.tif", "--cycle-spins", "1",
                       *NOISE)[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(files / "pd.tif").st_mode) == 0o644


def test_unreachable_scheduler_fails_fast(capsys, files):
    pytest.importorskip("distributed", reason="batch needs dask.distributed")
    import time

    t0 = time.monotonic()
    code, _, err = run_cli(capsys, "batch", "puredenoise", "--in", files / "a", "--out", files / "bo",
                           "--scheduler", "tcp://127.0.0.1:9", "--no-progress")
    assert code == 2 and "scheduler" in err
    assert time.monotonic() - t0 < 60


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip(reason="file-mode and flock checks are written for Linux")


def test_decoded_limit_covers_ome_tiff(capsys, files, monkeypatch):
    from fijax.io import Image
    from fijax.io.microscopy import write_image

    write_image(files / "c.ome.tif", Image(np.zeros((256, 256), np.float32)))  # 0.25 MiB decoded
    code, _, err = run_cli(capsys, "--max-decoded-mb", "0.1", "puredenoise", files / "c.ome.tif", "--out",
                           files / "pd.tif")
    assert code == 2 and "0.25 MiB" in err and not (files / "pd.tif").exists()


@pytest.mark.parametrize("argv,needle", [
    (["--outputs", "MISSING"], "--outputs"),
    (["--max-decoded-mb", "-1"], "--max-decoded-mb"),
    (["--host", "127.0.0.1.evil.com"], "loopback"),
    (["--host", "0.0.0.0"], "--allow-remote"),
])
def test_serve_settings_are_checked(tmp_path, argv, needle):
    from fijax.cli.main import build_parser
    from fijax.cli.serve import build_config
    from fijax.errors import InputError

    argv = [a.replace("MISSING", str(tmp_path / "missing")) for a in argv]
    args = build_parser().parse_args(["serve", *argv])
    with pytest.raises(InputError, match=needle):
        build_config(args)


def test_serve_outputs_root_is_resolved(tmp_path):
    from fijax.cli.main import build_parser
    from fijax.cli.serve import build_config

    (tmp_path / "exports").mkdir()
    config = build_config(build_parser().parse_args(["serve", "--outputs", str(tmp_path / "exports")]))
    assert config.outputs == (tmp_path / "exports").resolve()
