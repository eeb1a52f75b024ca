"""roshanai."""
