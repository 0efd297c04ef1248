"""The JVM's jars: Maven coordinates from ``jars.txt``, resolved from Maven Central only, cached.

Resolution goes through scyjava/jgo with the repository list reduced to Maven Central (scyjava's
default SciJava repository is removed). Artifacts land in ``<cache>/m2`` (a Maven local repository)
and jgo's environments in ``<cache>/jgo``; ``<cache>`` is :func:`jar_cache_dir`. Versions are
pinned, so once resolved a start needs no network: jgo reuses the cached environment.
"""

from __future__ import annotations

import os
from pathlib import Path

from fijax.paths import fijax_home
from fijax.versions import DEFAULT_JARS, jars_txt_path, parse_jars_txt, read_jars_txt

__all__ = ["DEFAULT_JARS", "MAVEN_CENTRAL", "OFFLINE_URL", "configure_scyjava", "jar_cache_dir", "jars_txt_path",
           "parse_jars_txt", "read_jars_txt", "resolve"]

#: Maven Central, the only repository fijax resolves from.
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"

#: Stands in for "no repository at all" (nothing listens on port 9 of the loopback).
OFFLINE_URL = "http://127.0.0.1:9/no-repository"


def jar_cache_dir() -> Path:
    """Where jars, jgo environments and the shim jar are cached.

    ``$FIJAX_JAR_CACHE`` when set, otherwise ``$FIJAX_HOME/jvm`` (see :func:`fijax.paths.fijax_home`).
    """
    env = os.environ.get("FIJAX_JAR_CACHE")
    if env:
        path = Path(env).expanduser()
    else:
        path = fijax_home() / "jvm"
    path.mkdir(parents=True, exist_ok=True)
    return path


def configure_scyjava(coords: list[str], repositories: dict[str, str] | None = None) -> None:
    """Point scyjava at ``coords``, Maven Central only, the system JDK and fijax's cache.

    Parameters
    ----------
    coords : list of str
        Endpoints for jgo.
    repositories : dict, optional
        Replaces the repository list (default: ``{"central": MAVEN_CENTRAL}``); an empty dict or an
        unreachable URL is how tests prove that a cached start works offline.
    """
    import scyjava.config as sc

    cache = jar_cache_dir()
    # jgo reads the Maven local repository from M2_REPO; keep fijax's jars out of a user's ~/.m2.
    os.environ.setdefault("M2_REPO", str(cache / "m2"))
    sc.set_cache_dir(cache / "jgo")
    # Never download a JDK: use the system one ("auto" fetches only when none is found, and then
    # fails offline; "never" trips pyimagej's version guess).
    sc.set_java_constraints(fetch="auto")
    repos = sc.get_repositories()
    repos.clear()
    # jgo starts from its own "central" constant and updates it with this dict: the same key
    # replaces it, so the list really is Central only. An empty list must not fall back to that
    # constant, so "no repository" is spelled as an unreachable central.
    if repositories is None:
        repositories = {"central": MAVEN_CENTRAL}
    repos.update(repositories or {"central": OFFLINE_URL})
    sc.endpoints.clear()
    sc.endpoints.extend(coords)


def resolve(coords: list[str] | None = None, repositories: dict[str, str] | None = None) -> list[Path]:
    """Resolve ``coords`` (default: ``jars.txt``) to local jar files without starting a JVM.

    Used by ``fijax setup`` (and to compile the shim jar against ImageJ).
    """
    import jgo
    import jgo.maven

    coords = list(coords or read_jars_txt())
    configure_scyjava(coords, repositories)
    import scyjava.config as sc

    repos = dict(sc.get_repositories())
    endpoint = coords[0] if len(coords) == 1 else "+".join(coords[:1] + sorted(coords[1:]))
    try:
        env = jgo.build(endpoint=endpoint, cache_dir=sc.get_cache_dir(), repositories=repos,
                        resolver=jgo.maven.PythonResolver(lenient=True))
    except Exception as exc:  # noqa: BLE001 - jgo raises many kinds; say what to do
        where = ", ".join(repos.values()) or "no repository"
        raise RuntimeError(f"could not resolve {endpoint} from {where} into {jar_cache_dir()}: {exc}. "
                           "Run `fijax setup` once with access to Maven Central.") from exc
    jars = sorted(Path(env.modules_dir).glob("*.jar")) + sorted(Path(env.jars_dir).glob("*.jar"))
    if not jars:
        raise RuntimeError(f"jgo resolved no jars for {endpoint}")
    return jars
