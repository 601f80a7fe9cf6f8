"""Prefect flows: thin, and reading like the process they run."""
