"""Activities: the I/O side of each scenario (one Blueprint per scenario module)."""
