"""Alembic migrations of the service database (env.py, versions/); applied at start."""
