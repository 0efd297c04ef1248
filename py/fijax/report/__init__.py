"""Reports (HTML/JSON, methods text) and bioimage.io export (see ``docs/reports.md``).

Public API (submodules are imported by callers; importing :mod:`fijax.report` itself is cheap):

- :func:`fijax.report.training.training_facts`, :func:`~fijax.report.training.training_html`,
  :func:`~fijax.report.training.write_training_report` — training report of a registered model.
- :func:`fijax.report.qc.qc_facts`, :func:`~fijax.report.qc.qc_html`, :func:`~fijax.report.qc.write_qc_report`,
  :func:`~fijax.report.qc.check_overlap` — QC report of a ``fijax qc``/``compare`` folder.
- :func:`fijax.report.methods.methods_paragraph` — a methods paragraph ready for a paper.
- :func:`fijax.report.bioimageio.export_bioimageio` — bioimage.io model zip (spec 0.5, ONNX weights).

Faces: operations ``report_model``, ``report_qc``, ``export_bioimageio`` (:mod:`fijax.ops.report`),
``fijax report model|qc`` and ``fijax export`` (CLI), ``run("FiJAX Report", ...)`` (macro).
"""
