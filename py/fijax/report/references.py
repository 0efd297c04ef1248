"""Citations of the algorithms fijax implements, keyed by training task.

A task defined elsewhere may carry its own ``reference`` attribute (a dict like the entries
below); :func:`algorithm_reference` prefers it.
"""

from __future__ import annotations

from typing import Any

UNET = {"short": "Ronneberger et al., 2015",
        "text": "Ronneberger O, Fischer P, Brox T. U-Net: Convolutional Networks for Biomedical Image "
                "Segmentation. MICCAI 2015, LNCS 9351:234-241 (2015).",
        "doi": "10.1007/978-3-319-24574-4_28"}

ALGORITHMS: dict[str, dict[str, Any]] = {
    "care": {"name": "CARE (content-aware image restoration)", "short": "Weigert et al., 2018",
             "text": "Weigert M, Schmidt U, Boothe T, et al. Content-aware image restoration: pushing the "
                     "limits of fluorescence microscopy. Nat Methods 15:1090-1097 (2018).",
             "doi": "10.1038/s41592-018-0216-7", "kind": "supervised restoration"},
    "n2v": {"name": "Noise2Void", "short": "Krull et al., 2019",
            "text": "Krull A, Buchholz T-O, Jug F. Noise2Void - Learning Denoising From Single Noisy Images. "
                    "CVPR 2019:2129-2137 (2019).",
            "doi": "10.1109/CVPR.2019.00223", "kind": "self-supervised denoising"},
    "n2v2": {"name": "N2V2", "short": "Höck et al., 2022",
             "text": "Höck E, Buchholz T-O, Brachmann A, Jug F, Freytag A. N2V2 - Fixing Noise2Void "
                     "Checkerboard Artifacts with Modified Sampling Strategies and a Tweaked Network "
                     "Architecture. ECCV 2022 Workshops, LNCS 13804 (2023).",
             "doi": "10.1007/978-3-031-25069-9_33", "kind": "self-supervised denoising"},
    "seg": {"name": "3-class U-Net segmentation (background, interior, boundary) with seeded watershed",
            "short": "Ronneberger et al., 2015", "text": UNET["text"], "doi": UNET["doi"],
            "kind": "instance segmentation"},
}

REPORTING = {"short": "Laine et al., 2021",
             "text": "Laine RF, Arganda-Carreras I, Henriques R, Jacquemet G. Avoiding a replication crisis "
                     "in deep-learning-based bioimage analysis. Nat Methods 18:1136-1144 (2021).",
             "doi": "10.1038/s41592-021-01284-3"}

SSIM = {"short": "Wang et al., 2004",
        "text": "Wang Z, Bovik AC, Sheikh HR, Simoncelli EP. Image quality assessment: from error visibility "
                "to structural similarity. IEEE Trans Image Process 13:600-612 (2004).",
        "doi": "10.1109/TIP.2003.819861"}

MATCHING = {"short": "Schmidt et al., 2018",
            "text": "Schmidt U, Weigert M, Broaddus C, Myers G. Cell Detection with Star-Convex Polygons. "
                    "MICCAI 2018, LNCS 11071:265-273 (2018).",
            "doi": "10.1007/978-3-030-00934-2_30"}


def algorithm_reference(task_name: str) -> dict[str, Any]:
    """Name, citation and DOI of the algorithm behind ``task_name`` (a task's own ``reference`` wins)."""
    try:
        from fijax.engine.tasks import get_task

        own = getattr(get_task(task_name), "reference", None)
    except Exception:  # an unknown task still gets a report; the network reference remains
        own = None
    if isinstance(own, dict) and own.get("text"):
        ref = dict(own)
    else:
        ref = dict(ALGORITHMS.get(task_name) or {"name": f"U-Net ({task_name})", "short": UNET["short"],
                                                 "text": UNET["text"], "doi": UNET["doi"], "kind": task_name})
    ref.setdefault("url", f"https://doi.org/{ref['doi']}" if ref.get("doi") else "")
    ref["network"] = dict(UNET, url=f"https://doi.org/{UNET['doi']}")
    return ref
