"""Alembic migrations (run by `congdoan` on start and by `alembic upgrade head`)."""
