"""Run Groovy, JavaScript and BeanShell scripts in the embedded ImageJ (JSR-223 engines from ``jars.txt``).

Scripts see ImageJ's classes and the Java API ``fijax.ij.FiJAX``; inputs and outputs are handled as
for macros (inputs open as images titled by name before the script runs; every image open at the end,
the Results table and the log come back in a :class:`ScriptResult`).

SciJava script parameters (``#@``): with the PyImageJ backend the script runs through SciJava's
script service, so ``#@`` lines work as in Fiji. With the default ImageJ 1.x backend (no SciJava)
fijax reads a subset itself: ``#@ ImagePlus name`` (the input image of that name, else the active
image), ``#@ String|int|long|float|double|boolean|File name`` (from ``params``, else
``(value=...)``), and ``#@output Type name`` (read back after the run into
:attr:`ScriptResult.outputs`). Parameter lines are commented out before the engine sees them, so line
numbers in error messages stay those of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fijax.bridge.java_api import to_python
from fijax.errors import InputError, MacroError
from fijax.io.image import Image

#: Script language -> file extension the JSR-223 engine registers.
LANGUAGES: dict[str, str] = {
    "groovy": "groovy",
    "js": "js", "javascript": "js", "nashorn": "js",
    "bsh": "bsh", "beanshell": "bsh", "java": "bsh",
}

#: Extensions of script files and their language.
EXTENSIONS: dict[str, str] = {".groovy": "groovy", ".js": "js", ".bsh": "bsh", ".ijm": "ijm", ".txt": "ijm"}

# SciJava's form: "#@ Type (attr=value, ...) name"; attributes after the name are accepted too.
_PARAM = re.compile(r"^\s*#@(output|both|input)?\s*([A-Za-z_][\w.]*)\s*(?:\((.*)\))?\s*([A-Za-z_]\w*)"
                    r"\s*(?:\((.*)\))?\s*$")
_ATTR = re.compile(r"(\w+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^,]+)")


@dataclass
class ScriptParameter:
    """One ``#@`` line: direction (``input``/``output``/``both``), type, name and attributes."""

    direction: str
    type: str
    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    line: int = 0


@dataclass
class ScriptResult:
    """What a script left behind (the same fields as :class:`fijax.bridge.MacroResult`, plus outputs).

    Attributes
    ----------
    images : dict of str to Image
        Every image open when the script ended, by title.
    results : list of dict
        Rows of ImageJ's Results table.
    log : str
        ``IJ.log`` output and what the script printed.
    value : str, optional
        The script's last expression (``toString``), if any.
    outputs : dict
        ``#@output`` values (images as :class:`Image`, numbers, strings).
    tables, rois, overlays
        As in :class:`fijax.bridge.MacroResult` (filled for macros).
    """

    images: dict[str, Image] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    log: str = ""
    value: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rois: bytes | None = None
    overlays: dict[str, bytes] = field(default_factory=dict)


def language_of(path: str | Path, language: str | None = None) -> str:
    """The language of a script file: ``language`` when given, else from its extension."""
    if language:
        lang = language.lower()
        if lang not in LANGUAGES and lang not in ("ijm", "macro"):
            raise InputError(f"unknown script language {language!r}; known: groovy, js, bsh, ijm")
        return "ijm" if lang == "macro" else lang
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise InputError(f"cannot tell the script language of {Path(path).name!r}: use .groovy, .js, .bsh or "
                         ".ijm (or --language)")
    return EXTENSIONS[ext]


def parse_parameters(code: str) -> tuple[list[ScriptParameter], str]:
    """Return the ``#@`` parameters of ``code`` and the code with those lines commented out."""
    params, lines = [], code.splitlines()
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("#@"):
            continue
        m = _PARAM.match(line)
        if m is None:
            raise InputError(f"script line {i + 1}: cannot read the parameter {line.strip()!r} "
                             "(expected '#@ Type name' or '#@output Type name')")
        direction, typ, name = m.group(1) or "input", m.group(2), m.group(4)
        attrs = ", ".join(a for a in (m.group(3), m.group(5)) if a)
        parsed = {k: v.strip().strip("\"'") for k, v in _ATTR.findall(attrs)}
        params.append(ScriptParameter(direction, typ, name, parsed, i + 1))
        lines[i] = "//" + line
    return params, "\n".join(lines) + ("\n" if code.endswith("\n") else "")


def _convert_param(param: ScriptParameter, text: str) -> Any:
    import jpype

    t = param.type.split(".")[-1].lower()
    try:
        if t in ("int", "integer", "long", "short", "byte"):
            return jpype.JLong(int(text)) if t == "long" else jpype.JInt(int(text))
        if t in ("float", "double", "number"):
            return jpype.JDouble(float(text))
        if t == "boolean":
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return jpype.JBoolean(text.lower() in ("true", "1", "yes"))
    except ValueError:
        raise InputError(f"script parameter {param.name!r} ({param.type}): not a valid value: {text!r}") from None
    if t == "file":
        return jpype.JClass("java.io.File")(text)
    if t in ("string", "char", "character"):
        return jpype.JString(text)
    raise InputError(f"script parameter {param.name!r}: type {param.type!r} is not supported by the ImageJ 1.x "
                     "backend (ImagePlus, String, int, long, float, double, boolean, File; use the PyImageJ "
                     "backend for the rest)")


def run_script(backend, code: str, language: str, inputs: dict[str, Image] | None = None,
               params: dict[str, str] | None = None, name: str = "script") -> ScriptResult:
    """Run a script in ``backend``'s ImageJ and collect what it left behind.

    Parameters
    ----------
    backend : fijax.bridge.Backend
        The running ImageJ.
    code : str
        Script source.
    language : str
        ``groovy``, ``js`` (Nashorn), ``bsh`` (BeanShell) or ``ijm`` (ImageJ macro).
    inputs : dict of str to Image, optional
        Images opened before the script runs, titled by key (the last is active); also bound as
        script variables when the key is an identifier.
    params : dict of str to str, optional
        Values of ``#@`` input parameters (and bound as variables when not declared).
    name : str
        Script file name, used in error messages.

    Raises
    ------
    MacroError
        When the script fails; the message names the script line when the engine reports it.
    InputError
        Unknown language, bad parameter values, missing parameters.
    """
    lang = language_of(name, language)
    if lang == "ijm":
        res = backend.run_macro(code, inputs=inputs, params=params)
        return ScriptResult(res.images, res.results, res.log, res.value, outputs=res.outputs, tables=res.tables,
                            rois=res.rois, overlays=res.overlays)
    if not isinstance(code, str):
        raise InputError("script code must be a string")
    if backend.name == "pyimagej":
        return _run_pyimagej(backend, code, lang, inputs or {}, params or {})
    declared, source = parse_parameters(code)
    params = dict(params or {})
    with backend._lock:
        backend.close_all()
        try:
            shown = {}
            for title, image in (inputs or {}).items():
                if not isinstance(image, Image):
                    image = Image(np.asarray(image))
                shown[title] = backend.show(image, title)
            engine, out_writer = _engine(lang, name)
            bindings = engine.createBindings()
            _bind(bindings, declared, shown, params)
            engine.setBindings(bindings, _engine_scope())
            value = _eval(backend, engine, source, name)
            printed = str(out_writer.toString())
            text = printed + backend._drain_log()
            outputs = _outputs(backend, declared, bindings)
            return ScriptResult(images=backend.open_images(), results=backend.results_table(), log=text,
                                value=None if value is None else str(value), outputs=outputs)
        finally:
            backend.close_all()


def _engine_scope() -> int:
    import jpype

    return int(jpype.JClass("javax.script.ScriptContext").ENGINE_SCOPE)


def _engine(lang: str, name: str):
    import jpype

    ext = LANGUAGES[lang]
    manager = jpype.JClass("javax.script.ScriptEngineManager")(jpype.JClass("java.lang.ClassLoader")
                                                                 .getSystemClassLoader())
    engine = manager.getEngineByExtension(ext)
    if engine is None:
        known = sorted({str(e) for f in manager.getEngineFactories() for e in f.getExtensions()})
        raise InputError(f"no script engine for .{ext} scripts on the classpath (engines: {', '.join(known) or 'none'}"
                         "); add it to jars.txt and run fijax setup")
    writer = jpype.JClass("java.io.StringWriter")()
    pw = jpype.JClass("java.io.PrintWriter")(writer, True)
    ctx = engine.getContext()
    ctx.setWriter(pw)
    ctx.setErrorWriter(pw)
    engine.put(jpype.JClass("javax.script.ScriptEngine").FILENAME, name)
    return engine, writer


def _bind(bindings, declared: list[ScriptParameter], shown: dict, params: dict[str, str]) -> None:
    import jpype

    WM = jpype.JClass("ij.WindowManager")
    for title, imp in shown.items():
        if title.isidentifier():
            bindings.put(title, imp)
    names = {p.name for p in declared}
    for key, text in params.items():
        if key not in names and key.isidentifier():
            bindings.put(key, jpype.JString(text))
    for p in declared:
        if p.direction == "output":
            continue
        t = p.type.split(".")[-1]
        if t == "ImagePlus":
            imp = shown.get(p.name) or (WM.getImage(params[p.name]) if p.name in params else WM.getCurrentImage())
            if imp is None:
                raise InputError(f"script parameter {p.name!r} (ImagePlus): no input image named {p.name!r} "
                                 "and no image open")
            bindings.put(p.name, imp)
            continue
        if t in ("LogService", "UIService", "StatusService", "Context", "ImageJ", "OpService", "Dataset",
                 "ImgPlus", "DatasetService", "ConvertService"):
            raise InputError(f"script parameter {p.name!r}: SciJava type {p.type!r} needs the PyImageJ backend "
                             "(set FIJAX_FIJI_DIR to a Fiji)")
        text = params.get(p.name, p.attrs.get("value"))
        if text is None:
            if p.attrs.get("required", "true").lower() == "false":
                bindings.put(p.name, None)
                continue
            raise InputError(f"script parameter {p.name!r} ({p.type}) has no value: pass --param {p.name}=VALUE")
        bindings.put(p.name, _convert_param(p, str(text)))


def _eval(backend, engine, source: str, name: str):
    import jpype

    ScriptException = jpype.JClass("javax.script.ScriptException")
    try:
        return engine.eval(source)
    except ScriptException as exc:
        raise _script_error(backend, exc, source, name) from None
    except jpype.JException as exc:
        raise _script_error(backend, exc, source, name) from None


def _script_error(backend, exc, source: str, name: str) -> MacroError:
    line = int(exc.getLineNumber()) if hasattr(exc, "getLineNumber") else -1
    root, cause = exc, exc
    while cause is not None:
        root = cause
        if line <= 0:
            for el in cause.getStackTrace():
                fname = str(el.getFileName()) if el.getFileName() is not None else ""
                # The script's own frames carry its file name (Groovy: Script<N>.groovy when unnamed).
                if (fname == name or re.fullmatch(r"Script\d+\.groovy|<eval>", fname)) \
                        and int(el.getLineNumber()) > 0:
                    line = int(el.getLineNumber())
                    break
        nxt = cause.getCause()
        cause = None if nxt is None or nxt == cause else nxt
    message = str(root.getMessage()) if root.getMessage() is not None else str(root.getClass().getSimpleName())
    message = re.sub(r"^(javax\.script\.ScriptException: )+", "", message.strip())
    if line <= 0:  # Groovy compile errors: "startup failed:\nScript1.groovy: 35: unable to resolve ..."
        m = re.search(r"\.groovy: (\d+):", message)
        line = int(m.group(1)) if m else line
    lines = source.splitlines()
    text = f"{name} line {line}: {message}" if line > 0 else f"{name}: {message}"
    if 0 < line <= len(lines) and lines[line - 1].strip():
        text += f"\n  {line} | {lines[line - 1].strip()}"
    err = MacroError(text, line=line if line > 0 else None)
    err.log = backend._drain_log()  # type: ignore[attr-defined]
    return err


def _outputs(backend, declared: list[ScriptParameter], bindings) -> dict[str, Any]:
    import jpype

    out: dict[str, Any] = {}
    ImagePlus = jpype.JClass("ij.ImagePlus")
    for p in declared:
        if p.direction not in ("output", "both"):
            continue
        v = bindings.get(p.name)
        if v is None:
            out[p.name] = None
        elif isinstance(v, ImagePlus):
            out[p.name] = backend.from_imageplus(v)
        else:
            out[p.name] = to_python(v)
    return out


def _run_pyimagej(backend, code: str, lang: str, inputs: dict[str, Image], params: dict[str, str]) -> ScriptResult:
    """SciJava's script service: ``#@`` parameters as in Fiji; image inputs as ImagePlus by name."""
    with backend._lock:
        backend.close_all()
        try:
            args: dict[str, Any] = dict(params)
            for title, image in inputs.items():
                args[title] = backend.show(image if isinstance(image, Image) else Image(np.asarray(image)), title)
            ext = LANGUAGES[lang]
            try:
                module = backend.ij.py.run_script(ext if ext != "bsh" else "beanshell", code, args)
            except Exception as exc:  # noqa: BLE001 - SciJava reports script errors as Java exceptions
                raise MacroError(f"script failed: {exc}") from exc
            outputs: dict[str, Any] = {}
            for key in module.getOutputs().keySet():
                v = module.getOutput(key)
                outputs[str(key)] = backend.from_imageplus(v) if hasattr(v, "getStack") else (
                    None if v is None else str(v))
            return ScriptResult(images=backend.open_images(), results=backend.results_table(),
                                log=backend._drain_log(), outputs=outputs)
        finally:
            backend.close_all()
