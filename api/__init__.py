"""HTTP functions: the durable starter (``starters.py``) and the F1/F2 fan-out endpoints
(``fanout.py``)."""
