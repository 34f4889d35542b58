"""The asyncio engine: instances, orchestrations, activities, entities, timers, the clock, waiting
clients, limits and the management operations.

Imports every layer below it (protocol, store, core, worker); nothing above it (views, http,
host, testing) is imported here.
"""
