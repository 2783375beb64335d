"""Analyses built on simulated runs: capacity, break-even and curve maths, migration signals,
calibration against published figures, cascading cold starts of pipelines.

Each function here runs simulations (through :mod:`sim.simulation`) and reduces them to the
numbers a job reports; nothing here writes files.
"""
