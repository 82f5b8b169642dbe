"""Shared fixtures of the deploy tests: the exported patterns, the catalog's test events, and a
moto server (the one scripts/test.sh started, named by TAMPERWATCH_TEST_MOTO_URL, or our own on
a free loopback port)."""

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "deploy" / "cloudformation").glob("*.yaml"))


def tamperwatch(*args):
    """Runs the tamperwatch CLI ($TAMPERWATCH_BIN, else cargo run) and returns its stdout."""
    binary = os.environ.get("TAMPERWATCH_BIN")
    cmd = [binary] if binary else ["cargo", "run", "-q", "-p", "tamperwatch-cli", "--"]
    return subprocess.run(
        cmd + list(args), cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="session")
def patterns():
    return json.loads(tamperwatch("rules", "export", "--format", "eventbridge"))


class _Loader(yaml.SafeLoader):
    """YAML without timestamp conversion: CloudTrail times stay strings, as in the engine."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@pytest.fixture(scope="session")
def catalog_tests():
    """(rule file, 'match' | 'no_match', record) for every test event of the built-in catalog."""
    out = []
    for path in sorted((ROOT / "rules").rglob("*.yml")):
        for doc in yaml.load_all(path.read_text(), Loader=_Loader):
            tests = (doc or {}).get("tests") or {}
            for kind in ("match", "no_match"):
                for record in tests.get(kind) or []:
                    if isinstance(record, dict) and "eventSource" in record:
                        out.append((str(path.relative_to(ROOT)), kind, record))
    assert out, "no test events found under rules/"
    return out


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url():
    url = os.environ.get("TAMPERWATCH_TEST_MOTO_URL")
    if url:
        yield url.rstrip("/")
        return
    port = _free_port()
    server = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "moto_server"
    proc = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto_server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture()
def aws(moto_url, monkeypatch):
    """boto3 clients on moto, in a region of their own (moto regions are isolated)."""
    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    region = "eu-north-1"

    def client(name):
        return boto3.client(name, region_name=region, endpoint_url=moto_url)

    return client
