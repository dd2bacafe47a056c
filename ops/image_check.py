"""Builds the Dockerfile for real and runs its image as the whole stack (`make image-check`).

Needs root, Debian's docker.io and debootstrap (installed if missing), and a Docker engine
(started here if none answers, stopped again at the end). No image registry is needed: the
public base images are stood in for by docker/local-base.Dockerfile on a Debian made by
debootstrap and `docker import`ed. Then every service runs in its own container of the
image (host network, read-only root, /tmp a tmpfs, no capabilities, secrets as mounted
files through the entrypoint) against the local PostgreSQL and Redis when they answer,
and one test card is tokenised and charged through the edge. Not part of `make test`: CI
has no Docker engine. docs/operations.md, "Checking the image for real", says more.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from strongroom import demo, testcards
from strongroom.devkeys import load_or_create
from strongroom.marketplaces import create_marketplace
from strongroom.stack import Options, Ports, Service, services
from strongroom.supervisor import free_port_block

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' throwaway CA, for the TLS edge
from tests.helpers.tls import make_pki  # noqa: E402

STATE = Path("/var/tmp/strongroom-image-check")  # noqa: S108 - logs and debootstrap's tree
# Debian's release whose python3 is the Python minor of the Dockerfile's PYTHON_IMAGE.
SUITE = "bookworm"
DEBIAN = f"strongroom-local/debian:{SUITE}"
PYTHON = f"strongroom-local/python:3.11-{SUITE}"
NODE = f"strongroom-local/node:{SUITE}"
IMAGE = "strongroom:image-check"
PREFIX = "strongroom-image-check-"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = ("127.0.0.1", 6379)
TMPFS = "/tmp"  # noqa: S108 - the container's own tmpfs, its one writable place
LABEL = "strongroom.image-check=1"  # on every image made here: what its pruning may remove
UID = 10001  # the image's user, who must be able to read its mounted secrets
# Settings a platform hands over as secrets: each becomes a file under /run/secrets and
# reaches the service through the entrypoint's NAME_FILE (a database URL may hold a password).
SECRET_SUFFIXES = ("_CREDENTIAL", "_SECRET", "_KEY", "_DATABASE_URL", "_COUNTERS_URL")
# Host paths in the local stack's settings; the image has its own defaults for these.
HOST_PATHS = ("_DATA_DIR", "EDGE_JS_DIR")
APP_ZONE = ("router", "api", "fraud")  # modules that must never see a card number


def say(text: str) -> None:
    print(f"image-check: {text}", flush=True)


def run(*args: str, log: Path | None = None, check: bool = True) -> str:
    """Run a command; its output goes to `log` when given (the tail shown on failure)."""
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    if log is None:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if check and done.returncode:
            sys.exit(f"image-check: {' '.join(args[:3])} … failed:\n{done.stderr[-3000:]}")
        return done.stdout
    with log.open("w") as out:
        code = subprocess.run(args, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if check and code.returncode:
        tail = "".join(log.read_text().splitlines(keepends=True)[-40:])
        sys.exit(f"image-check: {' '.join(args[:3])} … failed ({log}):\n{tail}")
    return ""


def docker_cli() -> str:
    """A docker client that builds with BuildKit: one with buildx, else Debian's own (whose
    builder is built in; a newer client without the buildx plugin refuses to build)."""
    if subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode == 0:
        return "docker"
    return "/usr/bin/docker"


def ensure_tools() -> None:
    if os.geteuid() != 0:
        sys.exit("image-check: run as root (dockerd, debootstrap and docker import need it)")
    if not (shutil.which("dockerd") and shutil.which("debootstrap")):
        say("installing docker.io and debootstrap from Debian")
        run("apt-get", "update", "-q")
        run("apt-get", "install", "-y", "-q", "--no-install-recommends", "docker.io",
            "debootstrap", "iptables", log=STATE / "apt.log")  # fmt: skip


@contextmanager
def engine(docker: str, keep: bool) -> Iterator[None]:
    """The Docker engine: the one answering, else a dockerd started here and stopped after.
    It runs with no bridge and no iptables rules: every container here uses the host's
    network, and the machine's firewall is left as it was."""
    if subprocess.run([docker, "info"], capture_output=True).returncode == 0:
        yield
        return
    log = (STATE / "dockerd.log").open("ab")
    daemon = subprocess.Popen(
        ["dockerd", "--iptables=false", "--bridge=none"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(60):
            if subprocess.run([docker, "info"], capture_output=True).returncode == 0:
                break
            if daemon.poll() is not None:
                sys.exit(f"image-check: dockerd exited ({daemon.returncode}); see {log.name}")
            time.sleep(0.5)
        else:
            sys.exit(f"image-check: dockerd did not answer in 30 s; see {log.name}")
        say(f"started dockerd (pid {daemon.pid})")
        yield
    finally:
        if keep:
            say(f"dockerd left running (pid {daemon.pid})")
        else:
            daemon.terminate()
            daemon.wait(timeout=30)


def has_image(docker: str, tag: str) -> bool:
    return subprocess.run([docker, "image", "inspect", tag], capture_output=True).returncode == 0


def base_images(docker: str, rebuild: bool) -> None:
    """The stand-ins for the public bases: Debian by debootstrap, then Python and Node."""
    if rebuild or not has_image(docker, DEBIAN):
        say(f"debootstrap {SUITE} -> {DEBIAN}")
        root = STATE / "rootfs"
        shutil.rmtree(root, ignore_errors=True)
        run("nice", "-n", "19", "debootstrap", "--variant=minbase", SUITE, str(root),
            "http://deb.debian.org/debian", log=STATE / "debootstrap.log")  # fmt: skip
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (root / junk).glob("*"):
                if path.is_file():
                    path.unlink()
        tar = subprocess.Popen(
            ["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
        )
        subprocess.run(
            [docker, "import", "--change", f"LABEL {LABEL}", "-", DEBIAN],
            stdin=tar.stdout,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        tar.wait()
        shutil.rmtree(root)
    with tempfile.TemporaryDirectory() as context:
        shutil.copy(REPO / "docker" / "local-base.Dockerfile", Path(context) / "Dockerfile")
        cas = Path(context) / "ca"
        cas.mkdir()
        for crt in Path("/usr/local/share/ca-certificates").glob("*.crt"):
            shutil.copy(crt, cas)
        for target, tag in (("python", PYTHON), ("node", NODE)):
            say(f"building {tag}")
            run("nice", "-n", "19", docker, "build", "--network", "host", "--target", target,
                "--label", LABEL, "-t", tag, context, log=STATE / f"base-{target}.log")  # fmt: skip


def build(docker: str) -> float:
    """The Dockerfile as it is, the bases given as build arguments; seconds taken."""
    say(f"building {IMAGE} (log: {STATE / 'build.log'})")
    started = time.monotonic()
    run("nice", "-n", "19", docker, "build", "--network", "host",
        "--build-arg", f"PYTHON_IMAGE={PYTHON}", "--build-arg", f"NODE_IMAGE={NODE}",
        "--label", LABEL, "-t", IMAGE, str(REPO), log=STATE / "build.log")  # fmt: skip
    seconds = time.monotonic() - started
    # The images this check made before and has since replaced; no other image.
    run(docker, "image", "prune", "-f", "--filter", f"label={LABEL}")
    return seconds


def answers(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


@contextmanager
def databases(names: list[str]) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database per name (SQLAlchemy URLs), dropped afterwards; none if
    PostgreSQL does not answer (the services then keep SQLite on their tmpfs)."""
    if not answers("127.0.0.1", 5432):
        say("no PostgreSQL on 127.0.0.1:5432: the services use SQLite on their /tmp")
        yield {}
        return
    made = {n: f"strongroom_image_check_{n}_{secrets.token_hex(4)}" for n in names}
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for db in made.values():
            conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield {n: f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}" for n, db in made.items()}
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for db in made.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@dataclass
class Started:
    service: Service
    container: str
    seconds: float


def start(
    docker: str, service: Service, secret_root: Path, ca: ssl.SSLContext | None = None
) -> Started:
    """`python -m <module>` in a container of the image, as a platform would run it; with
    `ca`, it serves HTTPS and is asked for /healthz with that trust."""
    plain: dict[str, str] = {}
    hidden: dict[str, str] = {}
    for name, value in service.env.items():
        if name.endswith(HOST_PATHS):
            continue
        (hidden if name.endswith(SECRET_SUFFIXES) else plain)[name] = value
    folder = secret_root / service.name
    folder.mkdir(mode=0o500)
    for name, value in hidden.items():
        (folder / name.lower()).write_text(value + "\n")
        (folder / name.lower()).chmod(0o400)
        os.chown(folder / name.lower(), UID, UID)
        plain[f"{name}_FILE"] = f"/run/secrets/{name.lower()}"
    os.chown(folder, UID, UID)
    env = [arg for name, value in plain.items() for arg in ("-e", f"{name}={value}")]
    container = PREFIX + service.name
    subprocess.run([docker, "rm", "-f", container], capture_output=True)
    began = time.monotonic()
    run(docker, "run", "-d", "--name", container, "--network", "host", "--read-only",
        "--tmpfs", TMPFS, "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--mount", f"type=bind,source={folder},target=/run/secrets,readonly",
        *env, IMAGE, service.module)  # fmt: skip
    url = service.url("127.0.0.1") + "/healthz"
    if ca:
        url = url.replace("http://", "https://localhost:", 1).replace("127.0.0.1:", "", 1)
    while time.monotonic() - began < 90:
        with suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0, verify=ca or True).status_code == 200:
                return Started(service, container, time.monotonic() - began)
        state = run(docker, "inspect", "-f", "{{.State.Running}}", container).strip()
        if state != "true":
            break
        time.sleep(0.2)
    logs = subprocess.run([docker, "logs", "--tail", "40", container], capture_output=True)
    sys.exit(
        f"image-check: {service.name} (python -m {service.module}) never answered {url}:\n"
        + (logs.stdout + logs.stderr).decode(errors="replace")
    )


def checkout(opts: Options, data_dir: Path) -> dict[str, str]:
    """A marketplace through the admin interfaces, then a test card tokenised and charged
    through the edge, and the JS bundle checked against its manifest."""
    keys = create_marketplace(opts, load_or_create(data_dir), "image-check")
    shop = demo.Checkout(f"http://127.0.0.1:{opts.ports.edge}", keys)
    card = shop.tokenise(testcards.SUCCEEDS)
    charge = shop.charge(card["id"], 1999)
    if charge.get("status") != "succeeded" or not charge.get("paid"):
        sys.exit(f"image-check: the charge did not succeed: {json.dumps(charge)[:500]}")
    bundle = demo.bundle_integrity(shop.http)
    if not bundle.ok:
        sys.exit(f"image-check: {bundle.name}: {bundle.got}")
    return {"token": card["id"], "charge": charge["id"], "bundle": bundle.detail}


def tls_edge(docker: str, edge: Service, port: int, secret_root: Path) -> Started:
    """A second edge serving HTTPS, its certificate and key handed over as variables (as
    ECS hands secrets over): the entrypoint writes them to the files its settings name,
    on the container's tmpfs, since its root is read-only."""
    pki = make_pki(secret_root / "pki")
    env = {
        **edge.env,
        "EDGE_PORT": str(port),
        "EDGE_TLS_CERT_PEM": pki.cert_file.read_text().strip(),
        "EDGE_TLS_CERT_FILE": f"{TMPFS}/tls/edge.crt",
        "EDGE_TLS_KEY_PEM": pki.key_file.read_text().strip(),
        "EDGE_TLS_KEY_FILE": f"{TMPFS}/tls/edge.key",
    }
    service = Service("edge-tls", edge.module, port, env)
    return start(docker, service, secret_root, ssl.create_default_context(cafile=pki.ca_file))


def stop_all(docker: str, started: list[Started]) -> None:
    """`docker stop` each, last started first: each must exit 0 on SIGTERM, and no app-zone
    service may have logged a card number."""
    unclean, leaked = [], []
    for s in reversed(started):
        stopping = time.monotonic()
        subprocess.run([docker, "stop", "-t", "10", s.container], capture_output=True)
        seconds = time.monotonic() - stopping
        code = run(docker, "inspect", "-f", "{{.State.ExitCode}}", s.container).strip()
        logs = subprocess.run([docker, "logs", s.container], capture_output=True)
        text = logs.stdout + logs.stderr
        (STATE / f"{s.service.name}.log").write_bytes(text)
        say(f"{s.service.name:<13} stopped in {seconds:.1f} s, exit status {code}")
        if code != "0":
            unclean.append(s.service.name)
        if s.service.module in APP_ZONE and any(n.encode() in text for n in testcards.TEST_CARDS):
            leaked.append(s.service.name)
    if unclean:
        sys.exit(f"image-check: not stopped cleanly by SIGTERM: {', '.join(unclean)}")
    if leaked:
        sys.exit(f"image-check: a card number in the logs of {', '.join(leaked)} (app zone)")


def stack(docker: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="strongroom-image-check-"))
    started: list[Started] = []
    try:
        base = free_port_block(8)
        ports = Ports(*range(base, base + 8))
        with databases(["vault", "api_test", "api_live", "fraud"]) as db:
            opts = Options(
                data_dir=tmp / "data",
                ports=ports,
                vault_database_url=db.get("vault"),
                api_test_database_url=db.get("api_test"),
                api_live_database_url=db.get("api_live"),
                fraud_database_url=db.get("fraud"),
                fraud_counters_url=(
                    f"redis://{REDIS[0]}:{REDIS[1]}/15" if answers(*REDIS) else "memory"
                ),
            )
            (tmp / "secrets").mkdir(mode=0o711)
            keys = load_or_create(opts.data_dir)
            for service in services(opts, keys):
                started.append(start(docker, service, tmp / "secrets"))
                say(f"{service.name:<13} python -m {service.module:<13} healthy in "
                    f"{started[-1].seconds:.1f} s on :{service.port}")  # fmt: skip
            edge = next(s.service for s in started if s.service.name == "edge")
            started.append(tls_edge(docker, edge, free_port_block(1), tmp / "secrets"))
            say(f"edge-tls      PEMs through the entrypoint, HTTPS healthy in "
                f"{started[-1].seconds:.1f} s")  # fmt: skip
            done = checkout(opts, opts.data_dir)
            say(f"tokenised and charged through the edge: {done['token']} -> {done['charge']}")
            say(f"js host serves {done['bundle']} matching its manifest")
            stop_all(docker, started)
    finally:
        for s in started:
            subprocess.run([docker, "rm", "-f", s.container], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild-bases", action="store_true", help="debootstrap again")
    parser.add_argument("--build-only", action="store_true", help="build; run nothing")
    parser.add_argument(
        "--keep-daemon", action="store_true", help="leave a dockerd started here running"
    )
    args = parser.parse_args()
    STATE.mkdir(parents=True, exist_ok=True)
    ensure_tools()
    docker = docker_cli()
    with engine(docker, args.keep_daemon):
        base_images(docker, args.rebuild_bases)
        seconds = build(docker)
        size = int(run(docker, "image", "inspect", "-f", "{{.Size}}", IMAGE))
        say(f"built {IMAGE} in {seconds:.0f} s, {size / 1e6:.0f} MB")
        if not args.build_only:
            stack(docker)
    say("ok")


if __name__ == "__main__":
    main()
