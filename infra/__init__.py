"""Infrastructure for the Durable Functions app: the Pulumi program, the package builder and
the code-deployment client.

Importable as a package from the repository root (``python -m infra.package``, the tests);
Pulumi itself runs ``infra/__main__.py`` with ``infra/`` as its working directory.
Keep this file free of imports: ``python -m infra.package`` must not load Pulumi.
"""
