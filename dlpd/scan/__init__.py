"""Scanning a tree: walk, skip what the cache says is unchanged, classify in parallel, store."""
