"""The Dockerfile, read for its promises: stages, one wheel for every service, the JS
bundle built in a stage, a non-root user, no secret baked in, `python -m <service>` as
entrypoint; and its entrypoint script, run for real. CI has no Docker engine: the real
build and run is `make image-check` (ops/image_check.py), never part of `make test`; what
it found is held here as read-only checks."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
SERVICES = ["edge_proxy", "vault", "router", "api", "fraud"]
SECRETISH = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL|PEM)\b", re.I)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def stages() -> dict[str, list[tuple[str, str]]]:
    by_stage: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for word, rest in instructions(DOCKERFILE.read_text()):
        if word == "FROM":
            parts = rest.split()
            current = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else "final"
            by_stage[current] = []
        elif current:
            by_stage[current].append((word, rest))
    return by_stage


def test_the_image_is_built_in_stages():
    assert {"js", "wheels", "runtime"} <= set(stages())


def test_the_runtime_runs_as_a_numeric_non_root_user():
    users = [rest for word, rest in stages()["runtime"] if word == "USER"]
    assert users, "no USER in the runtime stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric: Kubernetes' runAsNonRoot can check it


def test_every_service_comes_from_the_one_wheel():
    wheels = stages()["wheels"]
    assert any(w == "RUN" and "pip wheel" in r and r.rstrip().endswith(" .") for w, r in wheels)
    runtime = " ".join(r for w, r in stages()["runtime"] if w == "RUN")
    assert "--no-index" in runtime and "--find-links /wheels strongroom" in runtime
    copied = {r.split()[0] for w, r in wheels if w == "COPY"}
    with (REPO / "pyproject.toml").open("rb") as handle:
        packages = tomllib.load(handle)["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {p.rstrip("*") for p in packages} <= copied


def test_the_js_bundle_is_built_in_a_stage_and_copied_into_the_runtime():
    js = stages()["js"]
    assert ("RUN", "npm ci --no-audit --no-fund") in js and ("RUN", "npm run build") in js
    copies = [r for w, r in stages()["runtime"] if w == "COPY"]
    assert any(r.startswith("--from=js ") and "/opt/strongroom/js" in r for r in copies)


def test_the_entrypoint_is_python_dash_m_a_service():
    (entry,) = [r for w, r in stages()["runtime"] if w == "ENTRYPOINT"]
    assert entry.endswith('"python", "-m"]')
    (cmd,) = [r for w, r in stages()["runtime"] if w == "CMD"]
    assert cmd.strip('[]"') in SERVICES
    for service in SERVICES:
        assert (REPO / service / "__main__.py").exists(), f"python -m {service} would fail"


def test_no_secret_is_baked_into_the_image():
    for word, rest in instructions(DOCKERFILE.read_text()):
        if word in ("ENV", "ARG", "LABEL"):
            assert not SECRETISH.search(rest), rest
        assert word != "ADD", "ADD fetches and unpacks; COPY says what it copies"
        if word == "COPY":
            assert not re.search(r"\bvar\b|secrets\.json|keyring|\.env\b", rest), rest


def test_dockerignore_lets_in_only_what_is_copied():
    lines = [ln for ln in (REPO / ".dockerignore").read_text().splitlines() if ln.strip()]
    allowed = [ln[1:] for ln in lines if ln.startswith("!")]
    assert next(ln for ln in lines if not ln.startswith("#")) == "*"
    assert not [a for a in allowed if re.search(r"var|\.venv|secrets|keyring|node_modules", a)]


TMPFS = "/tmp"  # noqa: S108 - the image's one writable place: a tmpfs, not a shared dir


def test_no_syntax_directive_fetches_a_frontend():
    # `# syntax=docker/dockerfile:1` pulls the frontend from a registry at every build,
    # unpinned; the real build on a machine without a registry failed on it.
    first = DOCKERFILE.read_text().splitlines()[0]
    assert not re.match(r"#\s*syntax\s*=", first, re.I), first


def test_dockerignore_lets_in_everything_the_dockerfile_copies():
    # It once kept out servicekit/, settlement/, vault_audit/ and vault_operator/, and
    # the real build stopped at their COPY.
    lines = (REPO / ".dockerignore").read_text().splitlines()
    allowed = [ln[1:].rstrip("/") for ln in lines if ln.startswith("!")]
    for word, rest in instructions(DOCKERFILE.read_text()):
        if word != "COPY" or "--from=" in rest:
            continue
        for source in [a for a in rest.split()[:-1] if not a.startswith("--")]:
            source = source.rstrip("/")
            assert any(source == a or source.startswith(a + "/") for a in allowed), source


def test_base_images_come_from_build_arguments_with_public_defaults():
    # `make image-check` builds on local stand-ins given as these arguments; a real build
    # takes the public images (pinned by digest in CI).
    text = DOCKERFILE.read_text()
    args = dict(re.findall(r"^ARG (\w+_IMAGE)=(\S+)$", text, re.M))
    assert args["PYTHON_IMAGE"].startswith("python:3.11-")
    assert args["NODE_IMAGE"].startswith("node:")
    names = set(stages())
    for word, rest in instructions(text):
        if word == "FROM":
            image = rest.split()[0]
            assert image in names or image.strip("${}") in args, rest


def test_the_local_python_base_is_the_dockerfiles_python():
    minor = re.search(
        r"^ARG PYTHON_IMAGE=python:(3\.\d+)-(?:slim-)?(\w+)", DOCKERFILE.read_text(), re.M
    )
    assert minor, "PYTHON_IMAGE's default names no python:3.x-<debian> image"
    check = (REPO / "ops" / "image_check.py").read_text()
    # The stand-in is Debian's python3, which is 3.11 in bookworm.
    assert minor.groups() == ("3.11", "bookworm")
    assert 'SUITE = "bookworm"' in check
    assert 'PYTHON = f"strongroom-local/python:3.11-{SUITE}"' in check


def test_image_check_is_not_part_of_make_test():
    makefile = (REPO / "Makefile").read_text()
    (test_rule,) = re.findall(r"^test:(.*)$", makefile, re.M)
    assert "image-check" not in test_rule
    assert re.search(r"^image-check:", makefile, re.M)


def test_the_runtime_stage_writes_nothing_outside_tmp():
    env = " ".join(r for w, r in stages()["runtime"] if w == "ENV")
    for path in re.findall(r"_DATA_DIR=(\S+)", env):
        assert path.startswith(TMPFS + "/")
    assert ("WORKDIR", TMPFS) in stages()["runtime"]


def run_entrypoint(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), "env"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=10,
        check=False,
    )


def test_the_entrypoint_turns_pem_variables_into_private_files(tmp_path: Path):
    pem = "-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----"
    target = tmp_path / "secrets" / "tls.crt"
    result = run_entrypoint(
        tmp_path, {"VAULT_TLS_CERT_PEM": pem, "VAULT_TLS_CERT_FILE": str(target)}
    )
    assert result.returncode == 0, result.stderr
    assert target.read_text() == pem + "\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "VAULT_TLS_CERT_PEM" not in result.stdout  # the service never sees the variable
    assert f"VAULT_TLS_CERT_FILE={target}" in result.stdout


def test_the_entrypoint_refuses_a_pem_with_nowhere_to_go(tmp_path: Path):
    result = run_entrypoint(tmp_path, {"VAULT_TLS_KEY_PEM": "x"})
    assert result.returncode == 2
    assert "VAULT_TLS_KEY_FILE" in result.stderr


def test_a_mounted_secret_file_becomes_the_setting(tmp_path: Path):
    secret = tmp_path / "test-credential"
    secret.write_text("s3cret-credential-value\n")
    result = run_entrypoint(tmp_path, {"VAULT_TEST_CREDENTIAL_FILE": str(secret)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "VAULT_TEST_CREDENTIAL=s3cret-credential-value" in lines
    assert not [ln for ln in lines if ln.startswith("VAULT_TEST_CREDENTIAL_FILE=")]


def test_tls_file_settings_stay_file_settings(tmp_path: Path):
    cert = tmp_path / "tls.crt"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    result = run_entrypoint(tmp_path, {"API_TLS_CERT_FILE": str(cert)})
    assert result.returncode == 0, result.stderr
    assert f"API_TLS_CERT_FILE={cert}" in result.stdout.splitlines()
    assert "API_TLS_CERT=" not in result.stdout


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"FRAUD_SIGNING_KEY_FILE": "/nonexistent/key"}, "cannot read"),
        ({"FRAUD_SIGNING_KEY_FILE": "/dev/null", "FRAUD_SIGNING_KEY": "x"}, "both"),
    ],
)
def test_the_entrypoint_refuses_an_unreadable_or_doubled_secret(tmp_path: Path, env, complaint):
    result = run_entrypoint(tmp_path, env)
    assert result.returncode == 2
    assert complaint in result.stderr
