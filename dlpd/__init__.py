"""dlpd: data-leak-prevention daemon for research data trees."""

__version__ = "0.1.0"
