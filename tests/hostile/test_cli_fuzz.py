"""A bounded, seeded fuzz of the CLI's option parsing: hostile values for every option of the file commands.

Inputs are paths that do not exist (or a 6-byte TIFF), so no case computes for long; each must end
with exit 0 or 2 (argparse usage errors and :class:`~fijax.errors.InputError`) and one message,
never a traceback or an "internal error" (exit 1).
"""

from __future__ import annotations

import argparse
import random

import pytest

from fijax.cli.main import build_parser, main

COMMANDS = ("qc", "predict", "puredenoise", "export", "report", "models", "macro", "compare", "train", "batch")
VALUES = ("", "-1", "0", "1e30", "-1e30", "nan", "inf", "2,-1", "x", "../../../etc/passwd", "99999999999999999999999",
          "a=b", "=", "den:0", "den:-1", "{}", "[", "0.5,0.5", "64x64", " ", "ü", "--", "-", "/dev/null")
INTS = ("-1", "0", "1", "3", "99999999999999999999999")
FLOATS = ("-1", "0", "0.5", "1e30", "-1e30", "nan", "inf")
N_CASES = 120


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def _case(rng: random.Random, name: str, parser: argparse.ArgumentParser, tmp) -> list[str]:
    nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    argv = [name]
    if nested:  # models list|show, report model|qc
        sub_name, parser = rng.choice(sorted(nested[0].choices.items()))
        argv.append(sub_name)
    paths = [str(tmp / "missing.tif"), str(tmp / "six.tif"), str(tmp / "dir"), str(tmp / "regular" / "x")]
    for action in parser._actions:
        if not action.option_strings and action.dest not in ("help",) and not isinstance(
                action, argparse._SubParsersAction):
            count = 1 if action.nargs in (None, "?") else rng.randint(1, 2)
            argv += [rng.choice(paths + list(VALUES[:6])) for _ in range(count)]
    options = _options(parser)
    chosen = [a for a in options if a.required]
    chosen += rng.sample([a for a in options if not a.required], k=min(len(options) - len(chosen), rng.randint(0, 5)))
    for action in chosen:
        flag = rng.choice(action.option_strings)
        if action.nargs == 0:
            argv.append(flag)
            continue
        if action.choices and rng.random() < 0.8:
            pool = [str(c) for c in action.choices]
        elif action.type in (int, float) and rng.random() < 0.8:  # mostly values that pass argparse
            pool = list(INTS if action.type is int else FLOATS)
        elif any(k in action.dest for k in ("out", "in", "gt", "pred", "source", "target", "file")):
            pool = paths
        else:
            pool = list(VALUES)
        argv += [flag, rng.choice(pool)]
    return argv


def test_cli_option_fuzz(tmp_path, capsys, monkeypatch):
    import fijax.bridge
    from fijax.errors import InputError

    def no_jvm(*args, **kwargs):
        raise InputError("no JVM in the fuzz run")

    monkeypatch.setattr(fijax.bridge, "imagej", no_jvm)  # a macro that gets this far would start ImageJ
    (tmp_path / "six.tif").write_bytes(b"II*\x00\x08\x00")
    (tmp_path / "dir").mkdir()
    (tmp_path / "regular").write_text("file")
    commands = {k: v for k, v in _subcommands(build_parser()).items() if k in COMMANDS}
    assert len(commands) >= 8
    rng = random.Random(1414)
    seen, ran = set(), 0
    for _ in range(N_CASES):
        name = rng.choice(sorted(commands))
        argv = _case(rng, name, commands[name], tmp_path)
        try:
            code = main(argv)
            ran += 1
        except SystemExit as exc:  # argparse: usage error (2) or --help (0)
            code = exc.code
        _, err = capsys.readouterr()
        assert code in (0, 2), (argv, code, err[-2000:])
        assert "Traceback" not in err and "internal error" not in err, (argv, err[-2000:])
        seen.add(name)
    assert len(seen) >= 6 and ran >= N_CASES // 3  # most cases get past argparse into the commands


@pytest.mark.parametrize("argv", [
    ["predict", "x.tif", "--model", "den", "--out", "o", "--batch-size", "-3"],
    ["qc", "--gt", "a", "--prediction", "b", "--out", "o", "--thresholds", "0.5,abc"],
    ["macro", "missing.ijm", "--out", "o", "--timeout", "nan"],
    ["macro", "m.ijm", "--out", "o", "--heap", "/dev/null"],
    ["batch", "gaussian", "--in", ".", "--out", "o", "--ops-module", "den:-1"],
])
def test_fuzz_regressions(tmp_path, capsys, argv, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.ijm").write_text('print("x");')
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
