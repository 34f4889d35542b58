"""Views of an instance's history for people: the text timeline, the PNG plot and the dashboard's
Gantt data. Pure: they read histories, never a running engine.

Imports the protocol and the core only.
"""
