"""HTTP routes, one blueprint per capability; app.py registers them all."""
