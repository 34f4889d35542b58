"""The Durable vocabulary, pure and stdlib-only: typed enums, history events as the extension
serialises them, instance ids, the entity message formats and strict JSON.

Imports nothing else of the local host: every other layer may import it.
"""
