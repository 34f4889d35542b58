"""Entry point: `python -m experiment` (see experiment/cli.py and `--help`)."""

import sys

from experiment.cli import main

sys.exit(main())
