"""The ``puredenoise`` operation, the PureDenoise macro-option mapping, the CLI and the macro command (no JVM)."""

from __future__ import annotations

import numpy as np
import pytest
from pd_synth import blobs_scene, noisy

from fijax import ops
from fijax.cli.main import main
from fijax.errors import InputError
from fijax.io import Image, read_tiff, write_tiff
from fijax.ops.puredenoise import parse_macro_options


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", {"frames": 3, "cycle_spins": 4, "estimation": "global"}),
        ("parameters='3 4' estimation=[Auto Global]", {"frames": 3, "cycle_spins": 4, "estimation": "global"}),
        ("parameters='10 4' estimation='Auto Individual'", {"frames": 9, "cycle_spins": 4, "estimation": "individual"}),
        ("parameters='1 1' estimation='Manual 1.0 0.0 1.0'",
         {"frames": 1, "cycle_spins": 1, "alpha": 1.0, "delta": 0.0, "sigma": 1.0}),
        ("parameters=[1 12] estimation=[Manual] gain=2.5 offset=100 sigma=3 image=blobs output=out",
         {"frames": 1, "cycle_spins": 10, "alpha": 2.5, "delta": 100.0, "sigma": 3.0}),
        ("parameters=[15 0] estimation=[Auto Global] seed=7 plugin_compat",
         {"frames": 11, "cycle_spins": 1, "estimation": "global", "seed": 7, "plugin_compat": True}),
    ],
)
def test_macro_options_map_like_the_plugin(text, expected):
    opts = parse_macro_options(text)
    assert opts == expected
    ops.get("puredenoise").parse_options(opts)  # valid for the operation


@pytest.mark.parametrize("text, message", [
    ("parameters='3'", "NF CS"),
    ("parameters='a 4'", "not a number"),
    ("estimation='Manual 1 2'", "3 numbers"),
    ("estimation=[Sometimes]", "Auto Global"),
    ("gian=2", "unknown macro option"),
])
def test_macro_options_errors(text, message):
    with pytest.raises(InputError, match=message):
        parse_macro_options(text)


def test_operation_channels_frames_and_table():
    x = blobs_scene(64, 20.0, seed=0)
    data = np.stack([noisy(x, 2.0, 10.0, 1.0, seed=c) for c in range(2)]).astype(np.float32)
    image = Image(data, axes="CYX", title="cells", pixel_size=(1.0, 0.2, 0.2), unit="micron")
    res = ops.get("puredenoise")({"image": image}, {"cycle_spins": 1, "alpha": 2.0, "delta": 10.0, "sigma": 1.0})
    (out,) = res.images.values()
    assert out.title == "Denoised-cells" and out.axes == "CYX" and out.pixel_size == (1.0, 0.2, 0.2)
    assert out.data.shape == data.shape and out.data.dtype == np.float32
    assert [(r["channel"], r["frame"]) for r in res.table] == [(0, 0), (1, 0)]
    assert res.values["estimation"] == "manual"
    truth = 2.0 * x + 10.0
    for c in range(2):
        assert np.mean((out.data[c] - truth) ** 2) < 0.5 * np.mean((data[c] - truth) ** 2)


def test_operation_rejects_bad_options():
    image = Image(np.ones((32, 32), np.float32))
    op = ops.get("puredenoise")
    for bad in ({"frames": 4}, {"frames": 13}, {"sigma": -1}, {"alpha": 0}, {"cycle_spins": 11}, {"bogus": 1}):
        with pytest.raises(InputError):
            op({"image": image}, bad)


def test_cli_roundtrip_and_errors(tmp_path, capsys):
    x = blobs_scene(64, 20.0, seed=1)
    raw = noisy(x, 3.0, 100.0, 2.0, seed=1).astype(np.float32)
    src, dst = tmp_path / "in.tif", tmp_path / "out.tif"
    write_tiff(src, Image(raw, title="in"))
    rc = main(["puredenoise", str(src), "--out", str(dst), "--cycle-spins", "1",
               "--alpha", "3", "--delta", "100", "--sigma", "2", "--json"])
    assert rc == 0
    assert '"alpha": 3.0' in capsys.readouterr().out
    assert main(["puredenoise", str(src), "--out", str(dst), "--cycle-spins", "1", "--alpha", "3"]) == 0
    text = capsys.readouterr().out  # people get text: no JSON braces
    assert text.startswith(f"wrote {dst}") and "alpha" in text and "{" not in text
    assert main(["puredenoise", str(tmp_path), "--out", str(dst)]) == 2  # a folder: says to use batch
    assert "fijax batch puredenoise" in capsys.readouterr().err
    out = read_tiff(dst).data
    truth = 3.0 * x + 100.0
    assert out.shape == raw.shape and out.dtype == np.float32
    assert np.mean((out - truth) ** 2) < 0.5 * np.mean((raw - truth) ** 2)
    assert main(["puredenoise", str(src), "--out", str(dst), "--frames", "2"]) == 2
    assert main(["puredenoise", str(src), "--out", str(dst), "--sigma", "-1"]) == 2
    assert main(["puredenoise", str(tmp_path / "missing.tif"), "--out", str(dst)]) == 2
    assert "error" in capsys.readouterr().err


def test_macro_command_adapter_without_jvm():
    from fijax.bridge import commands

    cmd = commands.get("FiJAX PureDenoise")
    assert cmd.op == "puredenoise" and list(cmd.inputs) == ["image"]
    x = blobs_scene(64, 20.0, seed=2)
    image = Image(noisy(x, 1.0, 0.0, 1.0, seed=2).astype(np.float32), title="noisy")
    raw = "parameters='1 1' estimation='Manual 1.0 0.0 1.0' image=noisy"
    call = commands.CommandCall(label=cmd.label, options={}, images={"image": image}, raw_options=raw)
    res = cmd.func(call)
    assert list(res.images) == ["Denoised-noisy"]
    assert res.table[0]["sigma"] == 1.0


def test_operation_reports_progress_and_can_be_cancelled():
    from fijax.errors import CancelledError
    from fijax.ops import OpContext

    stack = Image(np.random.default_rng(0).poisson(5.0, (3, 64, 64)).astype(np.float32), axes="ZYX")
    opts = {"cycle_spins": 1, "alpha": 1.0, "delta": 0.0, "sigma": 0.5}
    seen = []
    ops.get("puredenoise")({"image": stack}, opts, OpContext(progress=lambda f, m: seen.append(f)))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and len(seen) == 4
    calls = []

    def cancel_after_first() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(CancelledError):
        ops.get("puredenoise")({"image": stack}, opts, OpContext(is_cancelled=cancel_after_first))


@pytest.mark.jvm
def test_plugin_macro_syntax_runs_in_headless_imagej(ij):
    """An existing PureDenoise macro line ports by renaming the command (quoted parameters included)."""
    x = blobs_scene(64, 20.0, seed=4)
    image = Image(noisy(x, 1.0, 0.0, 1.0, seed=4).astype(np.float32), title="noisy")
    out = ij.run_macro('run("FiJAX PureDenoise", "parameters=\'1 2\' estimation=[Manual 1.0 0.0 1.0]");',
                       inputs={"noisy": image})
    denoised = out.images["Denoised-noisy"].data
    assert denoised.shape == (64, 64)
    assert np.mean((denoised - x) ** 2) < 0.5 * np.mean((image.data - x) ** 2)
    assert out.results[0]["sigma"] == 1.0
