"""Summon: the Chalice app. This file is the composition root: it declares the app, its
middleware and each capability's blueprint, and wires the event sinks into the runtime
(``chalicelib/runtime.py``, which also states the rule for late imports). Routes, WebSocket
and event handlers live with their capability in ``chalicelib/api`` (one blueprint each, so
no module grows past a screenful of decorators); each view parses, calls one service
function and returns. No boto3 or PynamoDB here."""

from __future__ import annotations

from chalice.app import Chalice, CORSConfig

from chalicelib import config, lazy, observability, runtime, web
from chalicelib.api import (
    accounts,
    devices,
    erasure,
    exports,
    marketplace,
    media,
    profiles,
    realtime,
)

app = Chalice(app_name="summon")
app.experimental_feature_flags.update(["WEBSOCKETS"])

# CORS for the web app's origin in the cloud (infra/ sets it; the REST API's preflights and
# the handler's responses); locally devstack's gateway answers CORS instead.
if web_origin := config.import_time(config.WEB_ORIGIN):
    app.api.cors = CORSConfig(
        allow_origin=web_origin,
        allow_headers=list(config.CORS_ALLOW_HEADERS),
        expose_headers=list(config.CORS_EXPOSE_HEADERS),
        max_age=config.CORS_MAX_AGE_S,
    )

app.register_middleware(observability.middleware, "all")
app.register_middleware(web.error_middleware, "http")

# Blueprints, one per capability.
app.register_blueprint(profiles.bp)
app.register_blueprint(marketplace.bp)
app.register_blueprint(realtime.bp)
app.register_blueprint(media.bp)
app.register_blueprint(devices.bp)
app.register_blueprint(accounts.bp)
app.register_blueprint(exports.bp)
app.register_blueprint(erasure.bp)

# WebSocket API (chalicelib/api/realtime.py). On the app, not the blueprint: Chalice wraps
# WebSocket handlers only here, and Lambda calls them as app.<name>.
ws_connect = app.on_ws_connect()(realtime.ws_connect)
ws_message = app.on_ws_message()(realtime.ws_message)
ws_disconnect = app.on_ws_disconnect()(realtime.ws_disconnect)

# Event sinks (chalicelib/services/events.py): feed, live delivery, push for whoever has no
# live socket. Each imports its capability on its first event.
runtime.compose(
    sinks=[
        ("feed", lazy.function("chalicelib.services.notifications", "record")),
        ("live", lazy.function("chalicelib.services.live", "deliver")),
    ],
    offline=[
        (
            "push",
            lazy.function("chalicelib.services.push", "send_to_users"),
            lazy.function("chalicelib.services.push", "keys_to_prefetch"),
        )
    ],
)
