"""The app's side of the local host: loading and indexing the app, invoking its code, timeouts and
the SDK adaptations. The runtime reaches the app's code through this package only.

Imports the protocol, the store's contract and the core.
"""
