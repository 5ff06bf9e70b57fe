"""The console's pages, one module per group; each exports ``routes`` (app.py joins them)."""
