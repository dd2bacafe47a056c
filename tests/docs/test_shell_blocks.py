"""Every shell block of README.md and docs/*.md, run as pasted against a stack this test starts.

A block runs in bash (`set -eo pipefail`) in a directory holding the repository's `.venv`
and the stack's data dir as `var`, with `.venv/bin` on PATH and, defined before it as the
README's tour defines them, API, PK and SK. The stack runs on free ports: the documented
default ports in a block (8080 and the others) are rewritten to the stack's.

Each `# → …` line is the documented output of the commands since the previous one: split
at `…`, `<placeholders>`, braces and commas, every piece (whitespace aside) must appear in
that output. A leading three-digit HTTP status is not checked (curl -s does not print it).

A block that cannot run here starts with `# doc-test: skip (why)`; the reason is required.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from strongroom.stack import REPO_ROOT, Ports
from strongroom.supervisor import free_ports

pytestmark = pytest.mark.e2e

FENCE = re.compile(r"^```(sh|bash|shell|console)\s*\n(.*?)^```", re.M | re.S)
SKIP = re.compile(r"#\s*doc-test:\s*skip\b\s*(\((?P<why>[^)]*)\))?")
EXPECTED = re.compile(r"^\s*# → (.*)$")
PIECES = re.compile(r"…|<[^>]*>|[{},]")
STATUS = re.compile(r"^[1-5][0-9]{2}\s")
MARK = "@@doc-test-output-ends@@"
PRELUDE = """set -eo pipefail
API=http://127.0.0.1:8080
PK=$(python3 -c 'import json; print(json.load(open("var/dev-marketplace.json"))["pk_test"])')
SK=$(python3 -c 'import json; print(json.load(open("var/dev-marketplace.json"))["sk_test"])')
"""


@dataclass(frozen=True)
class Block:
    file: str
    line: int
    text: str

    @property
    def skip_reason(self) -> str | None:
        first = self.text.lstrip().splitlines()[0] if self.text.strip() else ""
        match = SKIP.match(first)
        if match is None:
            return None
        return (match["why"] or "").strip()


def blocks() -> list[Block]:
    found = []
    for path in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Block(str(path.relative_to(REPO_ROOT)), line, match[2]))
    return found


BLOCKS = blocks()


def test_every_block_that_does_not_run_says_why() -> None:
    assert BLOCKS, "no shell block found"
    for block in BLOCKS:
        if SKIP.search(block.text) and block.skip_reason is None:
            pytest.fail(f"{block.file}:{block.line}: the skip marker must open the block")
        assert block.skip_reason != "", f"{block.file}:{block.line}: skip without a reason"


@dataclass
class RunningStack:
    workdir: Path
    ports: Ports
    env: dict[str, str]


def port_args(ports: Ports) -> list[str]:
    return [
        arg
        for f in fields(Ports)
        for arg in (f"--{f.name.replace('_', '-')}-port", str(getattr(ports, f.name)))
    ]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """`strongroom up` on free ports, in a directory laid out as the repository's root."""
    workdir = tmp_path_factory.mktemp("docs")
    (workdir / ".venv").symlink_to(REPO_ROOT / ".venv")
    ports = Ports(*free_ports(len(fields(Ports))))
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env["PATH"] = f"{REPO_ROOT / '.venv' / 'bin'}:{env['PATH']}"
    up = subprocess.Popen(
        [".venv/bin/strongroom", "up", "--data-dir", "var", *port_args(ports)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert up.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "Press Ctrl-C" not in "".join(lines[-1:]):
            line = up.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert "Press Ctrl-C" in "".join(lines), "".join(lines)
        yield RunningStack(workdir, ports, env)
    finally:
        up.send_signal(signal.SIGTERM)
        up.communicate(timeout=60)


def on_ports(text: str, ports: Ports) -> str:
    """`text` with each documented default port replaced by the stack's."""
    defaults = Ports()
    for f in fields(Ports):
        old, new = getattr(defaults, f.name), getattr(ports, f.name)
        text = re.sub(rf":{old}\b", f":{new}", text)
    return text


def with_marks(text: str) -> tuple[str, list[str]]:
    """The block with an output mark before each `# →` line, and those expectations."""
    script, expected = [], []
    for line in text.splitlines():
        match = EXPECTED.match(line)
        if match:
            script.append(f"printf '\\n{MARK}\\n'")
            expected.append(match[1])
        script.append(line)
    return "\n".join(script) + "\n", expected


def pieces(expectation: str) -> list[str]:
    expectation = STATUS.sub("", expectation)
    squeezed = ("".join(p.split()) for p in PIECES.split(expectation))
    return [p for p in squeezed if any(c.isalnum() for c in p)]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.file}:{b.line}" for b in BLOCKS])
def test_the_block_runs_and_prints_what_the_docs_say(stack: RunningStack, block: Block) -> None:
    if block.skip_reason:
        pytest.skip(block.skip_reason)
    script, expected = with_marks(on_ports(block.text, stack.ports))
    result = subprocess.run(
        ["bash", "-c", on_ports(PRELUDE, stack.ports) + script],
        cwd=stack.workdir,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    where = f"{block.file}:{block.line}"
    assert result.returncode == 0, f"{where} failed:\n{result.stdout}\n{result.stderr}"
    outputs = result.stdout.split(MARK)
    for n, expectation in enumerate(expected):
        output = "".join(outputs[n].split())
        missing = [p for p in pieces(expectation) if p not in output]
        assert not missing, f"{where}: `# → {expectation}` not in the output:\n{outputs[n]}"
