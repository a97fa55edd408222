"""Dedicated deployments of model versions: Serve applications with replicas and placement."""
