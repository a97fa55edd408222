"""The domain: plain-Python services over the metadata store, lake and Ray jobs, testable without Serve."""
