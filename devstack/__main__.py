"""``python -m devstack`` (what ``make dev`` runs): the whole backend on 127.0.0.1.

1. the AWS emulation (moto server) on ``--aws-port`` (5000), or the one already there;
2. provisioning (idempotent) and demo data;
3. the app's processes, each a child with the emulator's environment:
   HTTP API (8000), WebSocket gateway (8001), event pump, and the web app (8002, when
   ``web/dist`` is built: ``make dev`` builds it; skipped when the port is taken).

Ctrl-C (or SIGTERM) stops every process it started. The environment the app needs is
written to ``.devstack/env`` so plain ``chalice local`` or a script can use the same stack.
A new process is one line in :func:`processes`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devstack import logs

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("devstack")


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def processes(args: argparse.Namespace) -> list[tuple[str, list[str], str | None]]:
    """(name, argv, URL to wait for) of each app process; modules not there yet are skipped."""
    py = sys.executable
    host = args.host
    out: list[tuple[str, list[str], str | None]] = [
        (
            "http",
            [py, "-m", "devstack.http_api", "--host", host, "--port", str(args.http_port)],
            f"http://{host}:{args.http_port}/health",
        ),
    ]
    if importlib.util.find_spec("devstack.ws_gateway"):
        out.append(
            (
                "ws",
                [py, "-m", "devstack.ws_gateway", "--host", host, "--port", str(args.ws_port)],
                f"http://{host}:{args.ws_port}/",  # answers (426) once it listens
            )
        )
    web_index = ROOT / "web" / "dist" / "index.html"
    if args.web_port and web_index.exists() and not port_open(host, args.web_port):
        out.append(
            (
                "web",
                [
                    py,
                    "-m",
                    "devstack.web",
                    "--host",
                    host,
                    "--port",
                    str(args.web_port),
                    "--api-url",
                    f"http://{host}:{args.http_port}",
                    "--ws-url",
                    f"ws://{host}:{args.ws_port}",
                    "--aws-url",
                    f"http://{host}:{args.aws_port}",
                ],
                f"http://{host}:{args.web_port}/config.json",
            )
        )
    elif args.web_port:
        why = "is taken" if web_index.exists() else "has no build (make web)"
        log.info("web app not served: port %s %s", args.web_port, why)
    if importlib.util.find_spec("devstack.pump"):
        out.append(
            (
                "pump",
                [py, "-m", "devstack.pump", "--schedule-period", str(args.schedule_period)],
                None,
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_PORT", "5000")))
    parser.add_argument("--http-port", type=int, default=int(os.environ.get("HTTP_PORT", "8000")))
    parser.add_argument("--ws-port", type=int, default=int(os.environ.get("WS_PORT", "8001")))
    parser.add_argument(
        "--web-port",
        type=int,
        default=int(os.environ.get("WEB_PORT", "8002")),
        help="the web app (0: do not serve it)",
    )
    parser.add_argument("--providers", type=int, default=300, help="demo providers to seed")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument(
        "--schedule-period",
        type=float,
        default=5.0,
        help="seconds between @app.schedule runs locally",
    )
    parser.add_argument("--state-dir", default=str(ROOT / ".devstack"))
    parser.add_argument(
        "--faults",
        default=os.environ.get("DEVSTACK_FAULTS", ""),
        help="inject AWS faults, e.g. 'rate=0.05,seed=7' (docs/testing.md#fault-injection)",
    )
    args = parser.parse_args(argv)
    logs.configure()
    from devstack import faults

    fault_setting = faults.parse(args.faults)  # a typo stops here, before anything starts

    endpoint = f"http://{args.host}:{args.aws_port}"
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for _name, proc in reversed(children):
            if proc.poll() is None:
                proc.terminate()
        for name, proc in reversed(children):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.info("stopped %s", name)

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    try:
        base_env = dict(os.environ)
        base_env.update(
            {
                "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
                "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY": "HASH",
                "PYTHONUNBUFFERED": "1",
                faults.ENV: args.faults,
            }
        )
        if base_env.get("DEVSTACK_METER_FILE"):  # children run in ROOT: make it absolute
            base_env["DEVSTACK_METER_FILE"] = os.path.abspath(base_env["DEVSTACK_METER_FILE"])
        if port_open(args.host, args.aws_port):
            log.info("reusing the AWS emulator already on %s", endpoint)
        else:
            moto = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "devstack.emulator",
                    "--host",
                    args.host,
                    "--port",
                    str(args.aws_port),
                ],
                env=base_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the supervisor, which stops it last
            )
            children.append(("aws", moto))
            wait_http(f"{endpoint}/moto-api/", 30, moto)
            log.info("AWS emulator on %s", endpoint)
        if fault_setting.rates:
            faults.switch(endpoint, fault_setting)  # also on an emulator that was there
            log.warning("fault injection on: %s", fault_setting)

        from devstack.provision import aws_env

        os.environ.update(aws_env(endpoint))
        from devstack.provision import provision

        env = provision(endpoint)
        os.environ.update(env)
        env["SUMMON_WS_CALLBACK_URL"] = f"http://{args.host}:{args.ws_port}/local"
        from chalicelib import config, runtime

        runtime.reset()
        subs: dict[str, str] = {}
        if not args.no_seed:
            from devstack.seed import seed

            subs = seed(
                endpoint, config.DEFAULT_REGION, env[config.USER_POOL_ID], providers=args.providers
            )
        full_env = {**base_env, **aws_env(endpoint), **env}
        full_env.setdefault(  # CORS on the local API for the web app (devstack/http_api.py)
            "SUMMON_WEB_ORIGINS",
            f"http://{args.host}:{args.web_port},http://localhost:{args.web_port}",
        )
        state = Path(args.state_dir)
        state.mkdir(parents=True, exist_ok=True)
        (state / "env").write_text(
            "".join(
                f"export {k}={json.dumps(v)}\n"
                for k, v in sorted(full_env.items())
                if k.startswith(("AWS_", "SUMMON_"))
            )
        )
        (state / "accounts.json").write_text(json.dumps(subs, indent=2))

        apps = processes(args)
        for name, cmd, ready_url in apps:
            proc = subprocess.Popen(cmd, env=full_env, cwd=ROOT, start_new_session=True)
            children.append((name, proc))
            if ready_url:
                wait_http(ready_url, 60, proc)
        print(
            f"\nSummon is up (Ctrl-C stops it):\n"
            f"  HTTP API        http://{args.host}:{args.http_port}  (/health, /openapi.json)\n"
            f"  WebSocket API   ws://{args.host}:{args.ws_port}/?token=<ID token>\n"
            + (
                f"  web app         http://{args.host}:{args.web_port}/  (/console/, /docs/)\n"
                if any(name == "web" for name, _, _ in apps)
                else ""
            )
            + f"  AWS emulator    {endpoint}\n"
            f"  user pool       {env[config.USER_POOL_ID]}\n"
            f"  app client      {env[config.USER_POOL_CLIENT_ID]}\n"
            f"  environment     {state / 'env'}\n",
            flush=True,
        )
        while True:
            for name, proc in children:
                if proc.poll() is not None:
                    log.error("%s exited with %s; stopping the stack", name, proc.returncode)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # noqa: BLE001 - say what failed, then clean up
        log.error("devstack failed: %s", exc)
        return 1
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
