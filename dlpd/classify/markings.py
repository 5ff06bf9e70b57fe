"""Markings told apart from mentions: where a marking-rule hit sits in its text. Pure."""
