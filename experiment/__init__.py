"""The fan-out latency experiment: a load script for F1 -> F2 and the Durable site fan-out.

Layout: runner.py (load generation), stats.py (pure summaries), results.py (JSON, CSV, table),
plot.py (figures), progress.py (progress bar), demo.py (local host lifecycle), cli.py (flags).
Not deployed: the app's own statistics live in api/latency_stats.py.
"""
