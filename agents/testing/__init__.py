"""Test and benchmark support: generated regression repositories, a loopback Messages API, recorders, a driver.

Nothing here is used in production; it lives in the package so `swarm bench fixes` can load it by dotted
path (swarm never imports agents directly).
"""
