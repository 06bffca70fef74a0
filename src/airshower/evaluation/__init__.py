"""Evaluation: predictions of trained models, binned metrics with bootstrap uncertainties, merit factor.

Modules: :mod:`~airshower.evaluation.prediction_file` (the predictions HDF5 contract),
:mod:`~airshower.evaluation.predict` (``airshower predict``), :mod:`~airshower.evaluation.metrics`
(``airshower evaluate``: the metrics JSON contract), :mod:`~airshower.evaluation.binned`
(bias, resolution, 68% quantiles in bins), :mod:`~airshower.evaluation.bootstrap`,
:mod:`~airshower.evaluation.merit` (p/Fe merit factor), :mod:`~airshower.evaluation.reconstruct`
(``airshower reconstruct``); files are written through
:mod:`airshower.atomic` (write-and-rename). Importing this package is cheap: torch is imported by
``predict`` only when it runs.
"""
