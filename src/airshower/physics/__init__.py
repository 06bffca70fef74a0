"""What nature does: primaries, atmosphere, Xmax, muon content, signals at the ground, timing.

Every number comes from ``airshower/resources/sd_parameters.json`` (loaded by
:mod:`airshower.physics.parameters`); every formula names its source in its docstring
(see ``docs/physics.md``, "Sources").
"""
