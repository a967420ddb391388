"""Lambda functions that belong to the infrastructure (not to the app)."""
