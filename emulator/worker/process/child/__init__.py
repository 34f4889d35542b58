"""The worker side of the out-of-process workers: what runs inside the app's interpreter.

Standard library and the app's own packages (``azure-functions``, ``azure-functions-durable``)
only, on Python 3.10 to 3.14: nothing here imports the host. The host starts
``__main__.py`` by its path with the app's interpreter; the worker imports ``function_app.py``,
sends the host a plain index of its functions, then runs the invocations the host sends over
its standard input and answers over its standard output (``wire.py``), as the Functions Python
worker does over gRPC.

- ``wire``: length-prefixed frames (a JSON header and raw body bytes);
- ``index``: importing the app and describing its functions;
- ``invoke``: the worker's converters for each kind of invocation;
- ``main``: the process - reader, thread pool, event loop, batched writer, logs;
- ``sdk_speedups``, ``sdk_compat``, ``watchdog``: the local host's adaptations of the SDK and its
  loop watchdog, which belong where the app's SDK and event loop run (the in-process worker
  and the host use them too).
"""
