"""Use cases: plain functions taking a database session."""
