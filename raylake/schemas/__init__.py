"""Wire types: request and response models. No database, no Ray."""
