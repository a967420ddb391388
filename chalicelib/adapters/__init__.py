"""Adapters to AWS services (SNS push, S3 media, WebSocket sender, ...): the only place
besides the store that talks to boto3."""
