"""The platform's vocabulary and storage layout: the bottom layer, which imports nothing else of raylake.

Every other package may import ``core``; ``core`` imports only the standard library, so a job, a model
replica and the API all spell a problem type, a column role, a data type and a job status the same way.
"""
