"""Entrypoints that run on the Ray cluster: ``python -m raylake.train_jobs.<job> --<row>-id N`` (and
``standby``, a training job started before its run exists).

Each reads its settings from the job's environment in ``main()``, never at import time.
"""
