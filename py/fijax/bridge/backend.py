"""ImageJ backends with one interface: run a macro, push/pull images, read the Results table.

:class:`ImageJ1` (default) is ImageJ 1.x from Maven Central made headless by ij1-patcher, started by
fijax. :class:`PyImageJ` is a local Fiji started with ``imagej.init(FIJAX_FIJI_DIR, mode="headless")``
(imglyb moves pixels there). Both run macros through the shim's ``fijax.ij.MacroRunner`` so errors
come back as :class:`fijax.errors.MacroError` naming the macro line, and both serve FiJAX commands
through the same :class:`fijax.bridge.transport.PythonTransport`.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fijax.bridge import commands, convert, jars, jvm, scripts, shim
from fijax.bridge.transport import PythonTransport
from fijax.errors import InputError, MacroError
from fijax.io.image import Image

log = logging.getLogger(__name__)


@dataclass
class MacroResult:
    """What a macro left behind.

    Attributes
    ----------
    images : dict of str to Image
        Every image open when the macro ended, by title (a repeated title gets `` (2)``, ...).
    results : list of dict
        Rows of the Results table (numbers as float, text as str; ImageJ's row labels under
        ``"Label"``).
    log : str
        Text the macro printed (``print``, ``IJ.log``).
    value : str, optional
        The macro's ``return`` value, if any.
    tables : dict of str to list of dict
        Every other table the macro showed (``Table.create``, ``Table.update``, the "Summary" of
        Analyze Particles, ``rt.show(title)``), by title, as rows like :attr:`results`.
    rois : bytes, optional
        The ROI Manager's ROIs as an ImageJ ROI set (``.zip`` of ``.roi`` files, what
        ``roiManager("save", path)`` writes); ``None`` when the macro left none.
    overlays : dict of str to bytes
        Overlays of the open images (same format as :attr:`rois`), by image title.
    outputs : dict
        Values of the macro's ``#@output`` parameters: int, float, bool, str, :class:`Image`, or
        ``None`` when the macro never set the variable.
    """

    images: dict[str, Image] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    log: str = ""
    value: str | None = None
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rois: bytes | None = None
    overlays: dict[str, bytes] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


def table_rows(rt) -> list[dict[str, Any]]:
    """Rows of an ``ij.measure.ResultsTable`` (numbers as float at full precision, text as str)."""
    if rt is None or rt.size() == 0:
        return []
    headings = [str(h) for h in rt.getHeadings() if str(h).strip() and str(h) != "Label"]
    has_label = bool(rt.columnExists("Label")) if hasattr(rt, "columnExists") else False
    rows = []
    for r in range(int(rt.size())):
        row: dict[str, Any] = {}
        if has_label:
            row["Label"] = str(rt.getLabel(r))
        for h in headings:
            text = str(rt.getStringValue(h, r))
            if not text.strip():
                continue  # an empty cell: this row has no such column (another command's rows)
            try:
                row[h] = float(text)
            except ValueError:
                row[h] = text
            else:
                value = float(rt.getValue(h, r))
                if not np.isnan(value):
                    row[h] = value  # full precision, not the displayed decimals
        rows.append(row)
    return rows


class Backend:
    """Common implementation; subclasses start ImageJ in :meth:`_start`."""

    name = "base"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._transport = None
        self._start()
        self._install_transport()

    # -- start ---------------------------------------------------------------------------------
    def _start(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _install_transport(self) -> None:
        import jpype

        self._transport = PythonTransport()
        self._Bridge = jpype.JClass("fijax.ij.Bridge")
        self._Bridge.setTransport(self._transport)
        self._MacroRunner = jpype.JClass("fijax.ij.MacroRunner")
        self._WM = jpype.JClass("ij.WindowManager")
        self._RT = jpype.JClass("ij.measure.ResultsTable")
        self._IJ = jpype.JClass("ij.IJ")
        self._Tables = jpype.JClass("fijax.ij.HeadlessTables")
        self._Rois = jpype.JClass("fijax.ij.HeadlessRoiManager")
        self._init_commands()
        for label in commands.load_all():
            self._register_label(label)
        Menus = jpype.JClass("ij.Menus")
        for label in commands.compat_commands():
            if Menus.getCommands().get(label) is None:  # a real Bio-Formats (Fiji) wins
                self._register_label(label)
        if Menus.getCommands().get("Bio-Formats Macro Extensions") is None:
            self._Bridge.registerPlugin("Bio-Formats Macro Extensions", "fijax.ij.BioFormatsExtensions")
        commands._on_register.append(self._register_label)

    def _init_commands(self) -> None:
        import jpype

        Menus = jpype.JClass("ij.Menus")
        if Menus.getCommands() is None:
            # Headless ImageJ builds its command table on the first run(); do it now so FiJAX
            # labels can be added before any macro runs.
            self._IJ.run("Select None", "")
        if Menus.getCommands() is None:
            raise RuntimeError("ImageJ's command table is missing (headless initialisation failed)")

    def _register_label(self, label: str) -> None:
        if not self._Bridge.registerCommand(label):
            raise RuntimeError(f"could not register {label!r} with ImageJ")

    # -- images --------------------------------------------------------------------------------
    def to_imageplus(self, image: Image | np.ndarray):
        """Copy an :class:`Image` (or array) into a new ``ij.ImagePlus`` (not shown)."""
        return convert.to_imageplus(image if isinstance(image, Image) else Image(np.asarray(image)))

    def from_imageplus(self, imp) -> Image:
        """Copy an ``ij.ImagePlus`` into an :class:`Image`."""
        return convert.from_imageplus(imp)

    def show(self, image: Image, title: str | None = None):
        """Open ``image`` in ImageJ under ``title`` (it becomes the active image); return the ImagePlus."""
        imp = self.to_imageplus(image)
        imp.setTitle(title or image.title)
        imp.show()
        return imp

    def open_images(self) -> dict[str, Image]:
        """Copy every open image, by title (repeated titles get `` (2)``, `` (3)`` ...)."""
        out: dict[str, Image] = {}
        ids = self._WM.getIDList()
        for image_id in list(ids) if ids is not None else []:
            imp = self._WM.getImage(int(image_id))
            if imp is None:
                continue
            title = str(imp.getTitle())
            key, k = title, 2
            while key in out:
                key, k = f"{title} ({k})", k + 1
            out[key] = convert.from_imageplus(imp, title=key)
        return out

    def results_table(self) -> list[dict[str, Any]]:
        """Rows of ImageJ's Results table."""
        return table_rows(self._RT.getResultsTable())

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every table shown headless since the last :meth:`close_all` (not Results), by title."""
        return {str(t): table_rows(self._Tables.find(t)) for t in self._Tables.titles()}

    def rois(self) -> bytes | None:
        """The ROI Manager's ROIs as an ImageJ ROI set ``.zip`` (``None`` when empty)."""
        data = self._Rois.lastZip()
        return None if data is None else bytes(data)

    def overlays(self) -> dict[str, bytes]:
        """Overlays of the open images as ImageJ ROI set ``.zip`` bytes, by title."""
        out: dict[str, bytes] = {}
        ids = self._WM.getIDList()
        for image_id in list(ids) if ids is not None else []:
            imp = self._WM.getImage(int(image_id))
            overlay = None if imp is None else imp.getOverlay()
            if overlay is not None and overlay.size() > 0:
                out[str(imp.getTitle())] = bytes(self._Rois.zip(overlay.toArray(), None))
        return out

    def close_all(self) -> None:
        """Close every image, empty the Results table and the log: the next macro starts clean."""
        import jpype

        ids = self._WM.getIDList()
        for image_id in list(ids) if ids is not None else []:
            imp = self._WM.getImage(int(image_id))
            if imp is not None:
                imp.changes = False
                imp.close()
        # Images a failed macro orphaned from the batch-mode table are unreachable; drop the table.
        Interpreter = jpype.JClass("ij.macro.Interpreter")
        for imp in list(Interpreter.getBatchModeImageIDs() or []):
            img = self._WM.getImage(int(imp))
            if img is not None:
                Interpreter.removeBatchModeImage(img)
        self._WM.setTempCurrentImage(None)
        self._Tables.reset()
        self._Rois.reset()
        rt = self._RT.getResultsTable()
        if rt is not None:
            rt.reset()
        hooks = jvm.hooks()
        if hooks is not None:
            hooks.drainLog()

    # -- macros --------------------------------------------------------------------------------
    def run_macro(self, code: str, inputs: dict[str, Image] | None = None, args: str = "",
                  keep_open: bool = False, params: dict[str, Any] | None = None) -> MacroResult:
        """Run an ImageJ macro headless and collect what it left behind.

        Parameters
        ----------
        code : str
            Macro source (ImageJ macro language).
        inputs : dict of str to Image, optional
            Images opened before the macro runs, titled by key, in order (the last is active).
        args : str
            The macro's ``getArgument()``.
        keep_open : bool
            Leave images and Results in ImageJ afterwards (default: close everything).
        params : dict, optional
            Values of the macro's SciJava script parameters (``#@ File (style="directory") input``,
            ``#@ Integer radius`` ...), as text or numbers; see ``fijax.ij.MacroParameters``.
            Missing ones take their ``value=`` default; one without a default is an error.

        Raises
        ------
        MacroError
            When the macro fails (syntax error, unknown command, failing FiJAX command ...); the
            message names the macro line and the cause. ImageJ stays usable.
        InputError
            When an input is not an image ImageJ can hold, or a script parameter is missing,
            unknown or invalid (the message names it).
        """
        if not isinstance(code, str):
            raise InputError("macro code must be a string")
        use_params = bool(params) or "#@" in code
        with self._lock:
            self.close_all()
            try:
                for title, image in (inputs or {}).items():
                    if not isinstance(image, Image):
                        image = Image(np.asarray(image))
                    self.show(image, title)
                self._transport.last_exception = None
                if use_params:
                    outcome = self._run_with_params(code, args or "", params or {})
                else:
                    outcome = self._MacroRunner.run(code, args or "")
                text = self._drain_log()
                if outcome.failed:
                    line = int(outcome.line)
                    err = self._macro_error(code, line, str(outcome.error), text)
                    err.report = "" if outcome.report is None else str(outcome.report)  # type: ignore[attr-defined]
                    raise err
                value = None if outcome.returnValue is None else str(outcome.returnValue)
                return MacroResult(images=self.open_images(), results=self.results_table(), log=text,
                                   value=value, tables=self.tables(), rois=self.rois(),
                                   overlays=self.overlays(), outputs=self._outputs(outcome))
            finally:
                if not keep_open:
                    self.close_all()

    def _run_with_params(self, code: str, args: str, params: dict[str, Any]):
        import jpype

        values = jpype.JClass("java.util.LinkedHashMap")()
        for key, value in params.items():
            values.put(str(key), None if value is None else str(value).lower() if isinstance(value, bool)
                       else str(value))
        try:
            return self._MacroRunner.run(code, args, values)
        except jpype.JClass("java.lang.IllegalArgumentException") as exc:
            raise InputError(str(exc.getMessage())) from None

    def _outputs(self, outcome) -> dict[str, Any]:
        from fijax.bridge.java_api import to_python

        outputs = getattr(outcome, "outputs", None)
        if outputs is None:
            return {}
        out: dict[str, Any] = {}
        for key in outputs.keySet():
            v = outputs.get(key)
            if v is not None and hasattr(v, "getStack"):
                out[str(key)] = self.from_imageplus(v)
            else:
                value = to_python(v)
                # boxed Java numbers pass isinstance(int/float) checks but do not pickle: make them plain
                for plain in (bool, int, float, str):
                    if isinstance(value, plain):
                        value = plain(value)
                        break
                out[str(key)] = value
        return out

    def run_script(self, code: str, language: str, inputs: dict[str, Image] | None = None,
                   params: dict[str, str] | None = None, name: str = "script"):
        """Run a Groovy/JavaScript/BeanShell script (or a macro); see :func:`fijax.bridge.scripts.run_script`."""
        if language.lower() in ("ijm", "macro", "imagej macro"):
            return self.run_macro(code, inputs, params=params)
        return scripts.run_script(self, code, language, inputs, params, name)

    def _drain_log(self) -> str:
        hooks = jvm.hooks()
        return str(hooks.drainLog()) if hooks is not None else ""

    def _macro_error(self, code: str, line: int, error: str, text: str) -> MacroError:
        lines = code.splitlines()
        source = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        msg = f"macro line {line}: {error}" if line > 0 else f"macro: {error}"
        if source:
            msg += f"\n  {line} | {source}"
        err = MacroError(msg, line=line if line > 0 else None)
        err.log = text  # type: ignore[attr-defined]
        if self._transport.last_exception is not None:
            err.__cause__ = self._transport.last_exception
            self._transport.last_exception = None
        return err

    # -- facts ---------------------------------------------------------------------------------
    def versions(self) -> dict[str, str]:
        """ImageJ and Java versions of the running JVM."""
        import jpype

        System = jpype.JClass("java.lang.System")
        return {
            "imagej": str(self._IJ.getVersion()),  # "1.54p" (getFullVersion adds a build number: "1.54p99")
            "java": str(System.getProperty("java.version")),
            "java_vendor": str(System.getProperty("java.vendor")),
            "backend": self.name,
        }


class ImageJ1(Backend):
    """ImageJ 1.x + ij1-patcher from ``jars.txt`` (Maven Central), headless. The default backend."""

    name = "imagej1"

    def __init__(self, heap: str | None = None, repositories: dict[str, str] | None = None) -> None:
        self._heap = heap
        self._repositories = repositories
        super().__init__()

    def _start(self) -> None:
        jvm.start(heap=self._heap, repositories=self._repositories, patch_imagej1=True)


class PyImageJ(Backend):
    """A local Fiji through PyImageJ: ``imagej.init(FIJAX_FIJI_DIR, mode="headless")``.

    Pixels go to Java through imglyb (``ij.py.to_dataset`` / ``ij.py.to_imageplus``) and come
    back through the same bulk plane copy as :class:`ImageJ1`.
    """

    name = "pyimagej"

    def __init__(self, fiji_dir: str | os.PathLike | None = None, heap: str | None = None) -> None:
        fiji_dir = fiji_dir or os.environ.get("FIJAX_FIJI_DIR")
        if not fiji_dir or not Path(fiji_dir).is_dir():
            raise InputError("the PyImageJ backend needs a Fiji installation (FIJAX_FIJI_DIR)")
        self._fiji_dir = Path(fiji_dir)
        self._heap = heap
        super().__init__()

    def _start(self) -> None:
        try:
            import imagej
        except ImportError as exc:
            raise InputError("the PyImageJ backend needs the pyimagej package (pip install pyimagej)") from exc
        import scyjava.config as sc

        jars.configure_scyjava([])
        sc.endpoints.clear()  # imglyb appends its endpoint at import: use the Fiji's jars only
        # Compile (or reuse) the shim against the Fiji's own ImageJ 1.x, ij1-patcher and javassist.
        fiji_jars = [p for pattern in ("ij-1*.jar", "ij1-patcher*.jar", "javassist*.jar")
                     for p in sorted((self._fiji_dir / "jars").glob(pattern))]
        shim_jar = shim.build_shim(fiji_jars)
        sc.add_classpath(str(shim_jar))
        heap = self._heap or os.environ.get("FIJAX_JAVA_HEAP") or jvm.DEFAULT_HEAP
        sc.add_option(f"-Xmx{heap}")
        self.ij = imagej.init(str(self._fiji_dir), mode="headless")

    def to_imageplus(self, image: Image | np.ndarray):
        image = image if isinstance(image, Image) else Image(np.asarray(image))
        dims = {"T": "t", "Z": "pln", "C": "ch", "Y": "row", "X": "col"}
        data = convert.imagej_dtype(image.data)
        ds = self.ij.py.to_dataset(data, dim_order=[dims[a] for a in image.axes])
        imp = self.ij.py.to_imageplus(ds)
        imp.setTitle(image.title)
        if image.pixel_size is not None:
            cal = imp.getCalibration()
            cal.pixelDepth, cal.pixelHeight, cal.pixelWidth = (float(v) for v in image.pixel_size)
            cal.setUnit(image.unit or "pixel")
        imp.setProp("fijax.axes", image.axes)
        return imp

    def show(self, image: Image, title: str | None = None):
        imp = self.to_imageplus(image)
        imp.setTitle(title or image.title)
        imp.show()
        return imp

    def _drain_log(self) -> str:
        import jpype

        text = self._IJ.getLog()
        self._IJ.log("\\Clear")
        return "" if text is None else str(jpype.JString(text))


_instance: Backend | None = None
_instance_lock = threading.Lock()


def imagej(backend: str | None = None, **kwargs: Any) -> Backend:
    """Return the process-wide ImageJ backend, starting the JVM on the first call.

    Parameters
    ----------
    backend : {"imagej1", "pyimagej"}, optional
        Default: ``"pyimagej"`` when ``$FIJAX_FIJI_DIR`` is set, else ``"imagej1"``. One JVM per
        process: asking for another backend once one runs is an error.
    **kwargs
        Passed to the backend's constructor on the first call (``heap=``, ...).
    """
    global _instance
    name = (backend or ("pyimagej" if os.environ.get("FIJAX_FIJI_DIR") else "imagej1")).lower()
    if name not in ("imagej1", "pyimagej"):
        raise InputError(f"unknown ImageJ backend {backend!r}; use 'imagej1' or 'pyimagej'")
    with _instance_lock:
        if _instance is not None:
            if _instance.name != name:
                raise RuntimeError(f"this process already runs the {_instance.name} backend; "
                                   "JPype cannot start a second JVM")
            return _instance
        _instance = ImageJ1(**kwargs) if name == "imagej1" else PyImageJ(**kwargs)
        return _instance
