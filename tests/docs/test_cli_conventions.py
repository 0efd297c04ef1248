"""What a new user meets in the CLI: readable help, text by default and ``--json`` alike everywhere,
progress bars in plain units with an ETA that leaves out compilation."""

from __future__ import annotations

import argparse
import json

import pytest

from fijax.cli._output import JSON_COMMANDS, emit, plain
from fijax.cli._progress import CountBar
from fijax.cli.main import build_parser, main


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, child in action.choices.items():
            yield from _leaves(child, (*path, name))


def test_help_texts_have_no_rst_markup():
    for path, parser in _leaves(build_parser()):
        texts = [parser.description or "", *(a.help or "" for a in parser._actions)]
        for text in texts:
            assert "``" not in text and ":func:" not in text and ":class:" not in text, (path, text[:200])


def test_every_result_command_takes_json_and_only_those():
    for path, parser in _leaves(build_parser()):
        if not path:
            continue
        has = any("--json" in a.option_strings for a in parser._actions)
        assert has == (path[0] in JSON_COMMANDS), path


def test_train_help_lists_every_preset_and_models_action_is_optional(capsys):
    from fijax.engine.config import PRESETS

    parser = build_parser()
    train = dict(_leaves(parser))[("train",)]
    preset_help = next(a.help for a in train._actions if "--preset" in a.option_strings)
    assert all(name in preset_help for name in PRESETS), preset_help
    with pytest.raises(SystemExit):
        main(["models", "--help"])
    usage = capsys.readouterr().out.splitlines()[0]
    assert "[list|show]" in usage  # optional: `fijax models` alone lists


def test_plain_strips_roles_and_literals():
    assert plain("see :func:`fijax.qc.ssim` and ``--out``::\n") == "see fijax.qc.ssim and --out:\n"


def test_emit_text_by_default_json_on_request(capsys):
    emit(argparse.Namespace(json=False), {"model": "den:1", "val_loss": 0.0123456, "parent": None})
    text = capsys.readouterr().out
    assert "model" in text and "0.01235" in text and "{" not in text
    emit(argparse.Namespace(json=True), {"model": "den:1", "val_loss": 0.0123456})
    assert json.loads(capsys.readouterr().out) == {"model": "den:1", "val_loss": 0.0123456}


def test_count_bar_counts_steps_and_starts_its_clock_after_compilation(capsys):
    bar = CountBar("train n2v den", "step")
    bar(0.0, "preparing")                       # before the first step: nothing to count yet
    assert bar.bar is None
    bar(0.1, "epoch 1/2 step 1/10 loss 0.5")   # first step (includes compiling): the clock starts here
    assert bar.bar.total == 10 and bar.bar.n == 1 and bar.bar.initial == 1 and bar.bar.unit == "step"
    for s in range(2, 11):
        bar(s / 10, f"epoch {1 + (s > 5)}/2 step {s}/10 loss 0.1")
    assert bar.bar.n == 10
    bar(1.0, "epoch 2/2 loss 0.1 val_loss 0.1")  # no counter: postfix only
    bar.close()
    err = capsys.readouterr().err
    assert "10/10" in err and "step" in err and "‰" not in err


def test_count_bar_disabled_prints_nothing(capsys):
    bar = CountBar("predict x", "sample", enabled=False)
    bar(0.5, "image 1/1 sample 10/20")
    bar.close()
    assert capsys.readouterr().err == ""


def test_qc_and_batch_qc_both_ignore_predict_side_outputs_and_say_so(tmp_path, capsys):
    """`fijax predict --samples` writes x_std.tif next to x.tif: QC of that folder skips it, saying so."""
    import numpy as np

    from fijax.batch import run_batch
    from fijax.io import Image, write_tiff

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        gt = rng.random((32, 32)).astype(np.float32)
        write_tiff(tmp_path / "gt" / f"{name}.tif", Image(gt, "YX"))
        write_tiff(tmp_path / "pred" / f"{name}.tif", Image(gt + 0.05 * rng.random((32, 32), np.float32), "YX"))
        write_tiff(tmp_path / "pred" / f"{name}_std.tif", Image(np.full((32, 32), 0.1, np.float32), "YX"))
    assert main(["qc", "--gt", str(tmp_path / "gt"), "--prediction", str(tmp_path / "pred"), "--out",
                 str(tmp_path / "qc"), "--no-panels", "--no-maps"]) == 0
    assert "ignored 2 prediction file(s) without a GT file of the same name: a_std, b_std" in capsys.readouterr().out
    report = run_batch("qc", tmp_path / "pred", tmp_path / "bqc", inputs={"gt": tmp_path / "gt"}, workers=1,
                       progress=False, artifacts=False)
    assert report.ok and report.done == 2 and report.ignored == ["a_std.tif", "b_std.tif"]
