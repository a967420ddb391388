"""``python -m devstack`` (what ``make dev`` runs): the whole backend on 127.0.0.1.

1. the AWS emulation (moto server) on ``--aws-port`` (5000), or the one already there;
2. provisioning (idempotent) and demo data;
3. the app's processes, each a child with the emulator's environment:
   HTTP API (8000), WebSocket gateway (8001), event pump, and the web app (8002, when
   ``web/dist`` is built: ``make dev`` builds it; skipped when the port is taken).

Ctrl-C (or SIGTERM) stops every process it started; they also end when it is killed
(``devstack/lifeline.py``). The environment the app needs, and the URLs of the APIs and the
web app, are written to ``.devstack/env`` so plain ``chalice local`` or a script can use the
same stack. A new process is one line in :func:`processes`.

The AWS state is kept in ``.devstack/state/`` across restarts (``devstack/persist.py``); the
demo data is seeded into an empty state only; ``--reset`` starts from an empty one. One
stack runs per state directory: a second says so in one line and exits.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devstack import lifeline, logs

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
            with urllib.request.urlopen(url, timeout=10):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def claim(state: Path, args: argparse.Namespace) -> int | None:
    """Lock ``state`` for this supervisor (the lock goes with the process, however it
    ends), recording its URLs; None when another supervisor holds it (the message said)."""
    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(state / "devstack.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = json.loads(os.read(fd, 4096) or b"{}")
        os.close(fd)
        print(
            f"Summon is already running from {state} (pid {other.get('pid', '?')}, "
            f"{other.get('http', 'its HTTP API')}): use it, or stop it (Ctrl-C in its "
            "terminal) first.",
            flush=True,
        )
        return None
    os.ftruncate(fd, 0)
    urls = {"pid": os.getpid(), "http": f"http://{args.host}:{args.http_port}"}
    os.write(fd, json.dumps(urls).encode())
    return fd


def wait_for_emulator_to_leave(aws_state: Path, timeout_s: float = 10.0) -> None:
    """An emulator of a killed stack ends within a second (lifeline): wait for it to let
    go of the state directory before reading it or its port."""
    lock = aws_state / "lock"
    if not lock.exists():
        return
    deadline = time.monotonic() + timeout_s
    with lock.open("rb") as f:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
                return
            except BlockingIOError:
                time.sleep(0.2)


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
        "--reset", action="store_true", help="forget the kept AWS state and seed a fresh one"
    )
    parser.add_argument(
        "--faults",
        default=os.environ.get("DEVSTACK_FAULTS", ""),
        help="inject AWS faults, e.g. 'rate=0.05,seed=7' (docs/testing.md#fault-injection)",
    )
    args = parser.parse_args(argv)
    logs.configure()
    from devstack import faults

    fault_setting = faults.parse(args.faults)  # a typo stops here, before anything starts

    state = Path(args.state_dir)
    aws_state = state / "state"
    lock = claim(state, args)
    if lock is None:
        return 0
    wait_for_emulator_to_leave(aws_state)
    if args.reset:
        shutil.rmtree(aws_state, ignore_errors=True)
        log.info("reset: the local data in %s is gone", aws_state)
    for what, port in (("HTTP API", args.http_port), ("WebSocket API", args.ws_port)):
        if port_open(args.host, port):
            print(
                f"Port {port} (the {what}) is taken by another program: stop it, or choose "
                "other ports (HTTP_PORT=8100 WS_PORT=8101 AWS_PORT=5100 WEB_PORT=8102 make dev).",
                flush=True,
            )
            return 1
    endpoint = f"http://{args.host}:{args.aws_port}"
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        apps = [(name, proc) for name, proc in reversed(children) if name != "aws"]
        aws = [(name, proc) for name, proc in children if name == "aws"]
        for group in (apps, aws):  # the emulator last: the others still use it
            for _name, proc in group:
                if proc.poll() is None:
                    proc.terminate()
            for name, proc in group:
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
                lifeline.ENV: str(os.getpid()),
                faults.ENV: args.faults,
            }
        )
        if base_env.get("DEVSTACK_METER_FILE"):  # children run in ROOT: make it absolute
            base_env["DEVSTACK_METER_FILE"] = os.path.abspath(base_env["DEVSTACK_METER_FILE"])
        reused = port_open(args.host, args.aws_port)
        if reused:
            log.info("reusing the AWS emulator already on %s (its data is not kept)", endpoint)
        else:
            kept = (aws_state / "seeded").exists()  # written once the state was seeded
            if kept:
                log.info(
                    "restoring the local data kept in %s (make dev-reset: start clean)", aws_state
                )
            aws_state.mkdir(parents=True, exist_ok=True)
            with (state / "emulator.log").open("ab") as emulator_log:
                moto = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "devstack.emulator",
                        "--host",
                        args.host,
                        "--port",
                        str(args.aws_port),
                        "--state-dir",
                        str(aws_state),
                    ],
                    env=base_env,
                    stdout=subprocess.DEVNULL,
                    stderr=emulator_log,
                    start_new_session=True,  # Ctrl-C reaches the supervisor, which stops it last
                )
            children.append(("aws", moto))
            try:
                wait_http(f"{endpoint}/moto-api/", 300, moto)  # a replay comes first
            except RuntimeError as exc:
                raise RuntimeError(f"AWS emulator: {exc} (see {state / 'emulator.log'})") from exc
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
        from devstack.seed import demo_subs, seed

        pool_id = env[config.USER_POOL_ID]
        initialised = aws_state / "seeded"  # the state got its seed (or --no-seed) once
        if reused or not initialised.exists():
            if not args.no_seed:
                seed(endpoint, config.DEFAULT_REGION, pool_id, providers=args.providers)
            if not reused:
                initialised.touch()
        subs = demo_subs(endpoint, config.DEFAULT_REGION, pool_id)
        full_env = {**base_env, **aws_env(endpoint), **env}
        full_env.setdefault(  # CORS on the local API for the web app (devstack/http_api.py)
            "SUMMON_WEB_ORIGINS",
            f"http://{args.host}:{args.web_port},http://localhost:{args.web_port}",
        )
        urls = {
            "SUMMON_API_URL": f"http://{args.host}:{args.http_port}",
            "SUMMON_WS_URL": f"ws://{args.host}:{args.ws_port}",
            "SUMMON_WEB_URL": f"http://{args.host}:{args.web_port}" if args.web_port else "",
        }
        (state / "env").write_text(
            "".join(
                f"export {k}={json.dumps(v)}\n"
                for k, v in sorted({**full_env, **urls}.items())
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
            f"  environment     {state / 'env'}\n"
            + (
                f"  local data      {aws_state}  (kept; make dev-reset starts clean)\n"
                if not reused
                else ""
            ),
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
