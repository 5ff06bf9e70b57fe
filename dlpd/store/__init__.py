"""The store: SQLAlchemy 2.x Core over SQLite (PostgreSQL later). Only package importing it."""
