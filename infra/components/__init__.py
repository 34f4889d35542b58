"""One ``pulumi.ComponentResource`` per concern; ``infra/program.py`` wires them together."""
