"""Storage: PynamoDB models and the repositories that are the only door to them."""
