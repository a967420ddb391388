"""A stand-in for the real Summon app, shaped like it: the CDK tests package this one so they
stay fast and independent of the real app's state. It has every kind of handler the real app
has (REST routes behind a Cognito authorizer, WebSocket handlers, an SQS and an SNS handler,
schedules) and reads its decorator arguments from the same environment variables."""

from __future__ import annotations

import os

from chalice.app import Chalice, CognitoUserPoolAuthorizer, CORSConfig, Rate

app = Chalice(app_name="summon")
app.experimental_feature_flags.update(["WEBSOCKETS"])
if web_origin := os.environ.get("SUMMON_WEB_ORIGIN"):  # as app.py: CORS for the web app
    app.api.cors = CORSConfig(allow_origin=web_origin, expose_headers=["ETag"], max_age=600)

authorizer = CognitoUserPoolAuthorizer(
    "cognito",
    provider_arns=[
        os.environ.get(
            "SUMMON_USER_POOL_ARN",
            "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_local",
        )
    ],
)


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/me", authorizer=authorizer)
def me() -> dict[str, str]:
    return {}


@app.on_ws_connect()
def ws_connect(event: object) -> None:
    return None


@app.on_ws_message()
def ws_message(event: object) -> None:
    return None


@app.on_ws_disconnect()
def ws_disconnect(event: object) -> None:
    return None


@app.on_sqs_message(
    queue=os.environ.get("SUMMON_MEDIA_QUEUE", "summon-local-media-events"), batch_size=5
)
def media_events(event: object) -> None:
    return None


@app.on_sqs_message(
    queue=os.environ.get("SUMMON_FANOUT_QUEUE", "summon-local-fanout"),
    batch_size=1,
    maximum_concurrency=5,
)
def announcement_pages(event: object) -> None:
    return None


@app.on_sns_message(
    topic=os.environ.get("SUMMON_ANNOUNCEMENTS_TOPIC", "summon-local-announcements")
)
def announcements_topic(event: object) -> None:
    return None


@app.schedule(Rate(1, unit=Rate.MINUTES))
def marketplace_timers(event: object) -> None:
    return None


@app.on_sqs_message(
    queue=os.environ.get("SUMMON_EXPORTS_QUEUE", "summon-local-exports"), batch_size=1
)
def export_archives(event: object) -> None:
    return None
