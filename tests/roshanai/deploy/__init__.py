"""Tests of roshanai deploy: broker files, a real broker from them, the stack files."""
