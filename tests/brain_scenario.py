"""The small spiking brain the [brain] tests share (tests/brain-assimilation.py,
tests/brain-twin.py): one LIF template E per region of a connectome,
local and connectome projections, one brain monitor, and a Poisson
background into E (BACKGROUND, appended by the caller)."""

UNIFORM_V = '{ dist = "uniform", low = -70.0, high = -55.0 }'

BACKGROUND = """
[[input]]
name = "bg"
kind = "poisson"
rate = 8000.0
weight = 20.0
targets = ["E"]
"""


def small_brain(duration, ne, dt=0.5, connectome="c4.h5", initial=UNIFORM_V, params="", top="",
                monitor='kind = "bold"\nperiod = 250.0'):
    """The scenario text up to its brain monitor: `top` goes into [brain],
    `params` into the template, `monitor` into its [[brain.monitor]]."""
    return f"""[simulation]
duration = {duration}
dt = {dt}
seed = 7

[brain]
connectome = "{connectome}"
speed = 10.0
{top}
[[brain.population]]
name = "E"
model = "iaf_psc_exp"
size = {ne}
{params}
[brain.population.initial]
V_m = {initial}

[[brain.projection]]
source = "E"
target = "E"
rule = "fixed_indegree"
indegree = 5
weight = 20.0

[[brain.projection]]
source = "E"
target = "E"
rule = "connectome"
indegree = 10
weight = 20.0

[[brain.monitor]]
{monitor}
"""
