"""Figures: the paper comparison of the study's models (:mod:`~airshower.figures.paper`) and its plot modules.

:mod:`~airshower.figures.paper` (``airshower figures``: every figure and the summary tables),
:mod:`~airshower.figures.study` (reading the study's products), :mod:`~airshower.figures.labels`
(display names of models and datasets), :mod:`~airshower.figures.paper_style`
(widths, fonts, the ``default`` and ``journal`` looks, colours, saving), :mod:`~airshower.figures.performance` (resolution, bias, merit
factor, model dependence vs energy), :mod:`~airshower.figures.reconstruction` (every other
target, Xmax vs zenith and per primary, calibration of the uncertainties),
:mod:`~airshower.figures.headline`, :mod:`~airshower.figures.learning_curves`,
:mod:`~airshower.figures.distributions`, :mod:`~airshower.figures.event_display`,
:mod:`~airshower.figures.summary` and :mod:`~airshower.figures.target_summary` (tables),
:mod:`~airshower.figures.utilisation` (model FLOPs utilisation, ``airshower gpu-report``); and
:mod:`~airshower.figures.validation` (figures of the simulation, ``airshower simulate --validate``).
Every figure uses the style of :mod:`~airshower.figures.paper_style`.
"""
