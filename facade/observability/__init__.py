"""Operational signals: Prometheus metrics shared by every gunicorn worker."""
