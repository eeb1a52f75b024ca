"""Deployment: the production broker's files (``roshanai deploy mosquitto``)."""
