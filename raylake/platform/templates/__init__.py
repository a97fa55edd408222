"""Templates (module 5): the data contract a dataset is validated against."""
