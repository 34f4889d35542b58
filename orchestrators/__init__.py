"""Deterministic orchestrators (one Blueprint per scenario module) and the pure rules they use."""
