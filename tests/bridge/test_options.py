"""Macro options parsing and the command registry (no JVM)."""

import pytest

from fijax.bridge import commands
from fijax.errors import InputError


def test_parse_plain_brackets_and_flags():
    opts = commands.parse_options("sigma=2 title=[my image] scaled output=out_1")
    assert opts == {"sigma": "2", "title": "my image", "scaled": "true", "output": "out_1"}


def test_parse_empty_and_spaces():
    assert commands.parse_options("") == {}
    assert commands.parse_options("   a=1    b=[ x ]  ") == {"a": "1", "b": " x "}


def test_parse_quoted_values_as_puredenoise_records_them():
    opts = commands.parse_options("parameters='3 4' estimation=[Auto Global] note=\"a b\"")
    assert opts == {"parameters": "3 4", "estimation": "Auto Global", "note": "a b"}


@pytest.mark.parametrize("bad", ["Sigma=2", "a=[unterminated", "a='unterminated", "a=1 a=2"])
def test_parse_rejects(bad):
    with pytest.raises(InputError):
        commands.parse_options(bad)


def test_format_round_trip():
    opts = {"sigma": 2.5, "name": "two words", "scaled": True, "skip": False}
    text = commands.format_options(opts)
    assert text == "sigma=2.5 name=[two words] scaled"
    assert commands.parse_options(text) == {"sigma": "2.5", "name": "two words", "scaled": "true"}


def test_builtin_commands_registered_as_op_adapters():
    table = commands.load_all()
    assert {"FiJAX Gaussian", "FiJAX Info"} <= set(table)
    gauss = table["FiJAX Gaussian"]
    assert gauss.op == "gaussian"
    assert gauss.required == ("sigma",)
    assert list(gauss.inputs) == ["image"]


def test_split_call_reports_missing_option():
    cmd = commands.get("FiJAX Gaussian")
    with pytest.raises(InputError, match="sigma="):
        commands.split_call(cmd, "output=x")
    opts, output = commands.split_call(cmd, "sigma=1 image=a output=b")
    assert opts == {"sigma": "1"} and output == "b"


def test_labels_must_be_fijax():
    with pytest.raises(ValueError):
        commands.macro_command("Gaussian")(lambda call: None)


def test_jars_txt_parsing_and_offline_without_cache(tmp_path, monkeypatch):
    from fijax.bridge import jars

    assert jars.parse_jars_txt("# c\nnet.imagej:ij:1.54p  # pinned\n\n") == ["net.imagej:ij:1.54p"]
    for bad in ("net.imagej:ij", "net.imagej:ij:RELEASE", "# only a comment\n"):
        with pytest.raises(InputError):
            jars.parse_jars_txt(bad)
    # No repository and an empty cache: a clear error telling what to do (no network involved).
    monkeypatch.setenv("FIJAX_JAR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("M2_REPO", str(tmp_path / "cache" / "m2"))
    with pytest.raises(RuntimeError, match="fijax setup"):
        jars.resolve(["net.imagej:ij:1.54p"], repositories={})
