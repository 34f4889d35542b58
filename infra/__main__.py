"""Pulumi entry point (``pulumi up`` in ``infra/``): wire the program and export its outputs.

Pulumi runs this file with ``infra/`` as the working directory and first ``sys.path`` entry.
Two import fixes make the rest of the code importable the same way everywhere:

* The repository root goes on ``sys.path`` so ``import infra.…`` works as it does in the tests
  and in ``python -m infra.package``.
* ``deploy`` (with its siblings ``deployclient``, ``deployanswers`` and ``onedeploy``) is
  imported as a *top-level* module and registered under its ``infra.`` name too. Pulumi pickles
  the dynamic provider by reference to its module, and the provider process
  (``python -m pulumi.dynamic``, started in ``infra/``) can import ``deploy`` but not ``infra``.
"""

import sys
from pathlib import Path

_INFRA_DIR = Path(__file__).resolve().parent
for _path in (str(_INFRA_DIR), str(_INFRA_DIR.parent)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import deploy  # noqa: E402, F401 (registered below)

import infra  # noqa: E402

for _module in ("deploy", "deployclient", "deployanswers", "onedeploy"):
    sys.modules[f"infra.{_module}"] = sys.modules[_module]
    setattr(infra, _module, sys.modules[_module])

import pulumi  # noqa: E402

from infra.program import run  # noqa: E402

for _name, _value in run().items():
    pulumi.export(_name, _value)
