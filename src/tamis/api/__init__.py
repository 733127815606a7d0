"""The HTTP API: the same core as the CLI, served by FastAPI."""
