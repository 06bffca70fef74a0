"""Helpers of the tests and benchmarks, kept out of the installed package.

Modules: :mod:`tests.kit.training` (a tiny network, in-memory events, configs, a tensor file
writer for the training tests), :mod:`tests.kit.fixtures` (the CPU-only, one-thread fixture
and the shared in-memory events), :mod:`tests.kit.host_syncs` (counts the operators that
make the host wait for a GPU), :mod:`tests.kit.predictions` (predictions with known
smearing), :mod:`tests.kit.study` (a synthetic study on disk for the figure tests) and
:mod:`tests.kit.records` (in-memory model records and studies for the tables).

Import them as ``tests.kit.<module>``: ``tests/conftest.py`` puts the repository root on
``sys.path`` for the tests; a benchmark puts it there itself.
"""
