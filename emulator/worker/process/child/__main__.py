"""Entry point of a worker process: ``<python> .../child/__main__.py --app DIR ...``.

Started by its path (so a debugger can wrap it: ``python -m debugpy --listen ... <this file>``),
it loads its own package under a private name - neither this folder nor the host's packages
go on ``sys.path``, so nothing here can shadow a module of the app.
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "_local_functions_worker"


def _load() -> object:
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, os.path.join(HERE, "__init__.py"), submodule_search_locations=[HERE])
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return importlib.import_module(PACKAGE + ".main")


if __name__ == "__main__":
    sys.exit(_load().main())
