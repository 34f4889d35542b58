"""Trigger sources beyond HTTP (timer, queue, blob) and the non-durable bindings.

Sits beside ``runtime/``: the sources build ``TriggerCall`` values and await an ``Invoke``
callback (the host's worker seam); they never call app code themselves.
"""
