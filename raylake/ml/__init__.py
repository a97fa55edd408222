"""The pure-Python ML core: preprocessing, algorithms, metrics, explanations and the training pipeline.

Nothing here touches the metadata store, HTTP or Ray at import time, so the training job, the search
and the inference service share one definition of how a table becomes a model and a model a prediction.
"""
