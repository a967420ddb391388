"""Summon: the Chalice app. This file is the composition root: it declares the app, its
middleware and registers each capability's blueprint (routes, WebSocket and event
handlers live with their capability in ``chalicelib/api``; each view parses, calls one
service function and returns). No boto3 or PynamoDB here."""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib import web
from chalicelib.api import profiles

app = Chalice(app_name="summon")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.api.binary_types = []  # JSON only; media goes straight to S3

app.register_middleware(web.error_middleware, "http")
app.register_blueprint(profiles.bp)
