"""The append-only history of every state change."""
