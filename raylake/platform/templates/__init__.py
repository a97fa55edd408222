"""Templates: the data contract a dataset is validated against."""
