"""The first FiJAX commands: ``FiJAX Gaussian`` (JAX blur) and ``FiJAX Info`` (versions)."""

from __future__ import annotations

from fijax import __version__
from fijax.bridge.commands import CommandCall, macro_command, macro_function, op_command
from fijax.ops import OpResult
from fijax.versions import library_versions

# run("FiJAX Gaussian", "sigma=2 [sigma_y=3] [scaled] [image=TITLE] [output=TITLE]")
op_command("FiJAX Gaussian", "gaussian", inputs={"image": "image"},
           summary="Gaussian blur in JAX, matching ImageJ's Gaussian Blur... (see docs/bridge.md)")


def version_facts() -> dict[str, str]:
    """Versions of fijax, Python, JAX, ImageJ and Java (ImageJ/Java only when a JVM runs)."""
    import jpype

    libs = library_versions()
    facts = {"fijax": libs["fijax"], "python": libs["python"], "jax": libs.get("jax", "?"),
             "numpy": libs.get("numpy", "?")}
    if jpype.isJVMStarted():
        IJ = jpype.JClass("ij.IJ")
        System = jpype.JClass("java.lang.System")
        facts["imagej"] = str(IJ.getVersion())  # "1.54p"; getFullVersion adds a build number ("99")
        facts["java"] = str(System.getProperty("java.version"))
    return facts


@macro_command("FiJAX Info", inputs=(), summary="versions of fijax, JAX, ImageJ and Java (Results row + log)")
def info(call: CommandCall) -> OpResult:
    """One Results row with the versions of fijax, Python, JAX, NumPy, ImageJ and Java."""
    return OpResult(values=version_facts())


@macro_function("version")
def version() -> str:
    """``call("fijax.ij.Bridge.call", "version")`` -> the fijax version."""
    return __version__


@macro_function("info")
def info_text() -> str:
    """``call("fijax.ij.Bridge.call", "info")`` -> ``"fijax=0.1.0 jax=... imagej=... java=..."``."""
    return " ".join(f"{k}={v}" for k, v in version_facts().items())
