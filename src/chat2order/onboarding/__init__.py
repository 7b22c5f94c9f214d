"""Supplier onboarding: add and update suppliers, import their price lists, load benchmark datasets and the
demo data. Each public service function owns its transaction; the CLI only translates arguments."""
