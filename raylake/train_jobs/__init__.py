"""Entrypoints that run on the Ray cluster: ``python -m raylake.train_jobs.<job> --id N``.

Each reads its settings from arguments, never from the environment at import time.
"""
