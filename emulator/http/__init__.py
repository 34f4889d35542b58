"""The HTTP edge, the only layer that knows status codes: the durable management API, the app's
HTTP functions, the entity API, error mapping, request readers and the dashboard.
"""
