"""Monitoring a model in production: its captured predictions, drift against its baseline, live accuracy."""
