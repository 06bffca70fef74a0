"""airshower: deep-learning reconstruction of air showers from the Auger surface detector.

Stages (each a subcommand of the ``airshower`` CLI and a Snakemake rule):
simulate -> convert -> train -> predict -> evaluate -> figures.
"""

__version__ = "0.1.0"
