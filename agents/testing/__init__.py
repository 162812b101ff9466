"""Test and benchmark support: generated regression repositories, a loopback Messages API, the fixes bench
(run through swarm.runtime.local, the same PEER cycle as the runtime).

Nothing here is used in production; it lives in the package so `swarm bench fixes` can load it by dotted
path (swarm never imports agents directly).
"""
