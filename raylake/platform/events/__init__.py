"""The events feed: an outbox of tenant events, pushed to WebSockets and signed webhooks."""
