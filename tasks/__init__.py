"""Prefect tasks: small, typed, cached and retried wrappers around the reelflow core."""
