"""Pure decisions of the durable engine: no asyncio, no threads, no SQLite.

An orchestration episode and an entity episode as steps, the replay of the SDK's actions, the
versioning rules, the batching rule, commit-first changes, stalls and the domain errors. Imports
the protocol and the store's contract (``store.base``) only.
"""
