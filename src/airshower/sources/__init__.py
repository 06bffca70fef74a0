"""Data sources: where a dataset's events come from (``datasets.<name>.source`` in the config).

==================  ===============================================================  =======
``source``          events                                                           truth
==================  ===============================================================  =======
``simulate``        the simulator's shards, ``data/{study}/sim/{dataset}/{shard}.root``  yes
``files``           events files in the ROOT contract, ``paths``: files or globs      either
                    (``positions: site``: own station ids and site coordinates, fitted
                    onto the lattice)
``auger_opendata``  the Auger open data: per-event JSON files (``paths``) and the      no
                    summary CSV of hybrid events (``summary``: FD Xmax as reference)
==================  ===============================================================  =======

Modules: :mod:`~airshower.sources.base` (the interface, :class:`EventSource`),
:mod:`~airshower.sources.kinds` (the kinds and the dataset keys each reads; what the config
check needs, importing no source), :mod:`~airshower.sources.registry` (the class of each kind,
:func:`~airshower.sources.registry.input_files`, the files a dataset reads, and
:func:`~airshower.sources.registry.open_source`), one module per source. Adding a source:
docs/extending.md.
"""
