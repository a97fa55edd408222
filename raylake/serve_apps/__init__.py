"""Ray Serve: thin deployment classes over the platform's plain-Python services."""
