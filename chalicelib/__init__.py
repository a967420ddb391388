"""Summon: everything that ships to Lambda besides app.py."""
