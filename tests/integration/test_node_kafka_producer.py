"""A non-Python Kafka client against the real worker (issue 12, "no message stops
ingestion"): KafkaJS, a pure-JavaScript client with no librdkafka in it, produces to
``agency-events`` on a real broker (Tansu), and a real ``scorecard ingest`` process decides it.

Two agencies' valid events are signed in JavaScript exactly as the contract says (header
``signature`` = ``v1=`` + lowercase hex HMAC-SHA256 of the exact value bytes under the key
file's text), some serialised by ``JSON.stringify`` and some as bytes chosen here: each is
accepted exactly once, however often it is sent. Then hostile messages: lone surrogates,
invalid UTF-8, empty and null values, JSON that is not an object, deep nesting, an oversize
value, binary header values, null and unknown keys, and events planted under an agency's
key. Each is kept as a rejection with its reason: the agency's own list holds only what its
key signed; whatever proves no sender is in the administrators' quarantine. The worker is
still running at the end and its stored positions reach the last offset the broker gave.
(Before issue 12's fix the first lone surrogate made the worker exit 1, on every restart.)

The Node project is ``tests/integration/node_kafka`` (``make node-kafka`` installs it with
``npm ci``); without Node.js or its packages this test fails and says so, it never skips.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from domain import signing
from domain.application import Scorecard
from domain.contract import canonical_bytes
from ingest.kafka_messages import TOPIC, UNKNOWN_PRODUCER, producer_of, source_of
from ingest.kafka_worker import tracking_name
from tests.e2e.test_command_line import Cli
from tests.integration.kafka_support import (
    REJECTED,
    accepted_ids,
    make_home,
    start_ingest,
    worker_env,
)
from tests.services import Broker
from tests.support import event

pytestmark = pytest.mark.slow

NODE_PROJECT = Path(__file__).parent / "node_kafka"
PRODUCER_SCRIPT = NODE_PROJECT / "produce.js"
NODE_MAJOR = 18
GARBAGE_SIGNATURE = b"v1=" + b"0" * 64


@dataclass(frozen=True)
class Send:
    """One message for the Node producer, and what the contract says must become of it.

    ``fate``: ``accepted`` (a new valid event), ``duplicate`` (an exact copy of one sent
    before: no effect), ``own`` (rejected, and in the agency's own list: its key signed it)
    or ``quarantine`` (rejected, proving no sender). ``value`` is the exact bytes, or
    ``None`` for a tombstone; ``event`` instead has Node serialise it (``JSON.stringify``).
    """

    fate: str
    key: bytes | None
    value: bytes | None = None
    event: dict[str, Any] | None = None
    sign_as: str | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    reason: str | None = None

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"key": _b64(self.key), "sign_as": self.sign_as,
                                "headers": [[name, _b64(v)] for name, v in self.headers]}
        if self.event is not None:
            spec["event"] = self.event
        else:
            spec["value"] = _b64(self.value)
        return spec


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _valid(agency: str, event_id: str, event_type: str = "helpline.contact",
           **payload: Any) -> dict[str, Any]:
    return event(event_type, event_id, "2015-11-02", agency=agency, **payload)


def _surrogate(value: bytes, target: bytes, escape: bytes) -> bytes:
    """``value`` with a lone-surrogate escape (``\\ud800``) put into the string ``target``."""
    assert target in value
    return value.replace(target, target[:-1] + escape + b'"', 1)


def messages() -> list[Send]:
    """What Node sends, in order: every class of message a producer could send."""
    racs_contact = _valid("racs", "node-racs-1")
    grow_school = _valid("grow", "node-grow-1", "school.session_delivered")
    # Planted under racs's key: a retraction of its accepted event, a garbage signature.
    planted = Send("quarantine", b"racs", value=canonical_bytes(_valid(
        "racs", "node-h-8", "event.retracted", target="node-racs-1", reason="planted")),
        headers=(("signature", GARBAGE_SIGNATURE),), reason="unauthenticated")
    return [
        # Valid events of two agencies, signed in JavaScript.
        Send("accepted", b"racs", event=racs_contact, sign_as="racs"),
        Send("accepted", b"racs", event=_valid("racs", "node-racs-2", "training.delivered",
                                               course="café-awareness"), sign_as="racs"),
        Send("accepted", b"grow", event=grow_school, sign_as="grow"),
        # Bytes no Python serialiser would make: the signature covers them as they are.
        Send("accepted", b"grow", value=json.dumps(_valid("grow", "node-grow-2"),
                                                   indent=3).encode(), sign_as="grow"),
        # A binary header beside a good signature changes nothing.
        Send("accepted", b"racs", event=_valid("racs", "node-racs-3"), sign_as="racs",
             headers=(("trace", b"\x00\xff\xfe\x80"),)),
        # Sent again, byte for byte: accepted once.
        Send("duplicate", b"racs", event=racs_contact, sign_as="racs"),
        Send("duplicate", b"grow", event=grow_school, sign_as="grow"),
        # Lone surrogates: the agency's own mistake when its key signed it, else quarantine.
        Send("own", b"racs", value=b'{"agency":"\\ud800"}', sign_as="racs", reason="invalid"),
        Send("quarantine", b"racs", value=b'{"agency":"\\ud800"}', reason="invalid"),
        Send("own", b"racs", value=_surrogate(canonical_bytes(_valid("racs", "node-h-1")),
                                             b'"node-h-1"', b"\\udc00"),
             sign_as="racs", reason="invalid"),
        Send("quarantine", b"grow", value=_surrogate(canonical_bytes(_valid("grow", "node-h-2")),
                                                     b'"phone"', b"\\ud83d"),
             headers=(("signature", b"v1=" + b"1" * 64),), reason="invalid"),
        # Invalid UTF-8, signed by the agency.
        Send("own", b"grow", value=canonical_bytes(_valid("grow", "node-h-3")).replace(
            b'"phone"', b'"\xff\xfe"'), sign_as="grow", reason="invalid"),
        # Empty value; null value (a tombstone).
        Send("quarantine", b"racs", value=b"", reason="invalid"),
        Send("quarantine", b"grow", value=None, headers=(("signature", GARBAGE_SIGNATURE),),
             reason="invalid"),
        # JSON that is not an object.
        Send("quarantine", b"racs", value=b"[]", reason="invalid"),
        Send("quarantine", b"grow", value=b"null", reason="invalid"),
        Send("quarantine", b"racs", value=b'"racs"', reason="invalid"),
        Send("own", b"grow", value=b"42", sign_as="grow", reason="invalid"),
        # Deep nesting.
        Send("quarantine", b"racs", value=b"[" * 20_000 + b"]" * 20_000, reason="invalid"),
        Send("own", b"grow", value=b'{"a":' * 3000 + b"1" + b"}" * 3000, sign_as="grow",
             reason="invalid"),
        # Over the contract's 64 KiB.
        Send("own", b"racs", value=b'{"agency":"racs","event_id":"' + b"x" * 70_000 + b'"}',
             sign_as="racs", reason="invalid"),
        # A signature header that is binary, not text.
        Send("quarantine", b"racs", value=canonical_bytes(_valid("racs", "node-h-4")),
             headers=(("signature", b"\xff\xfe\x00v1="),), reason="unauthenticated"),
        # A null key on an event its agency signed.
        Send("quarantine", None, value=canonical_bytes(_valid("grow", "node-h-5")),
             sign_as="grow", reason="unauthenticated"),
        # Keys naming no agency: an unregistered code, and bytes that are not a code.
        Send("quarantine", b"nobody", value=canonical_bytes(_valid("nobody", "node-h-6")),
             headers=(("signature", GARBAGE_SIGNATURE),), reason="unknown_agency"),
        Send("quarantine", b"\xff\xfeRACS", value=canonical_bytes(_valid("racs", "node-h-7")),
             sign_as="racs", reason="unauthenticated"),
        planted,
        replace(planted, fate="duplicate"),  # the same bytes again: kept once
        # grow's event, signed by grow, under racs's key: not racs's.
        Send("quarantine", b"racs", value=canonical_bytes(_valid("grow", "node-h-9")),
             sign_as="grow", reason="unauthenticated"),
    ]


def _installed_node_project() -> str:
    """The ``node`` binary, once Node.js and the locked packages are known to be there:
    a machine without them fails this test with what to do, never skips it."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed: this test runs a Node.js Kafka producer "
                    f"(Node {NODE_MAJOR}+; Debian: apt-get install nodejs npm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < NODE_MAJOR:
        pytest.fail(f"Node.js {version} is too old: Node {NODE_MAJOR}+ is needed")
    lock = json.loads((NODE_PROJECT / "package-lock.json").read_text())
    for path, package in lock["packages"].items():
        if not path:
            continue
        installed = NODE_PROJECT / path / "package.json"
        found = json.loads(installed.read_text())["version"] if installed.exists() else None
        if found != package["version"]:
            pytest.fail(f"{path} is {found or 'not installed'}, the lock says "
                        f"{package['version']}: run `make node-kafka` "
                        f"(npm ci --prefix {NODE_PROJECT})")
    return node


def _produce_with_node(node: str, bootstrap: str, key_files: dict[str, Path],
                       sends: list[Send], tmp_path: Path) -> list[dict[str, Any]]:
    """Run the Node producer; returns each message's partition, offset and signature."""
    spec_path = tmp_path / "node-messages.json"
    spec_path.write_text(json.dumps({
        "bootstrap": bootstrap, "topic": TOPIC,
        "key_files": {agency: str(path) for agency, path in key_files.items()},
        "messages": [send.spec() for send in sends],
    }))
    done = subprocess.run([node, str(PRODUCER_SCRIPT), str(spec_path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, f"the Node producer failed:\n{done.stderr[-3000:]}"
    sent: list[dict[str, Any]] = json.loads(done.stdout)["sent"]
    assert len(sent) == len(sends)
    return sent


def _wait_until_at_end(app: Scorecard, worker: subprocess.Popen[bytes], log: Path,
                       last: dict[int, int], seconds: float = 30) -> None:
    """Until every partition's stored position reaches its last offset; a worker that
    stops on the way fails the test at once, with its log."""
    deadline = time.monotonic() + seconds
    while True:
        assert worker.poll() is None, (
            f"the worker stopped (exit {worker.returncode}):\n{log.read_text()[-4000:]}")
        stored = {p: app.tracked_position(tracking_name(p)) for p in last}
        behind = {p: (at, last[p]) for p, at in stored.items() if at is None or at < last[p]}
        if not behind:
            return
        assert time.monotonic() < deadline, (
            f"positions not at the end in {seconds} s (stored, last): {behind}\n"
            f"{log.read_text()[-4000:]}")
        time.sleep(0.2)


def _kept(app: Scorecard) -> dict[str, tuple[str, str, bool, str]]:
    """Every kept rejection by source: (producer, digest, quarantined, reason)."""
    found: dict[str, tuple[str, str, bool, str]] = {}
    start = 0
    while page := app.recorder.select_notifications(start=start, limit=10_000,
                                                    topics=[REJECTED], inclusive_of_start=False):
        for notification in page:
            rejection: Any = app.mapper.to_domain_event(notification)
            assert rejection.source not in found, f"{rejection.source} was kept twice"
            found[rejection.source] = (rejection.producer, rejection.digest,
                                       rejection.authenticated is not True, rejection.reason)
        start = page[-1].id
    return found


def test_a_node_kafka_producer_interoperates_and_no_message_it_sends_stops_ingestion(
    kafka: Broker, tmp_path: Path
) -> None:
    node = _installed_node_project()
    home, keys = make_home(tmp_path, None)
    key_files = {}
    for agency in ("racs", "grow"):
        key_files[agency] = tmp_path / f"{agency}.key"
        key_files[agency].write_text(keys[agency])  # the key file: 64 hex digits, no newline
    sends = messages()
    sent = _produce_with_node(node, kafka.bootstrap, key_files, sends, tmp_path)
    for send, where in zip(sends, sent, strict=True):  # JavaScript's HMAC is the contract's
        if send.sign_as is not None and send.event is None:
            assert where["signature"] == signing.sign(keys[send.sign_as], send.value or b"")
    last: dict[int, int] = {}
    for where in sent:
        last[where["partition"]] = max(where["offset"], last.get(where["partition"], -1))

    log = tmp_path / "ingest.log"
    worker = start_ingest(worker_env(home, kafka.bootstrap), log)
    app = home.open()
    try:
        _wait_until_at_end(app, worker, log, last)
        time.sleep(1)  # still standing after the last message
        assert worker.poll() is None, log.read_text()[-4000:]
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    assert worker.returncode == 0, log.read_text()[-4000:]  # stopped when asked, cleanly

    # Every valid event accepted exactly once, whatever Node's bytes and however often sent.
    accepted = accepted_ids(app)
    assert sorted(accepted) == sorted(
        (s.event["agency"], s.event["event_id"]) if s.event is not None
        else (json.loads(s.value or b"")["agency"], json.loads(s.value or b"")["event_id"])
        for s in sends if s.fate == "accepted")

    # Every hostile message kept, once, where its sender's proof puts it, with its reason.
    hostile = [(send, where) for send, where in zip(sends, sent, strict=True)
               if send.fate in ("own", "quarantine")]
    expected = {
        source_of(where["partition"], where["offset"]): (
            producer_of(send.key), hashlib.sha256(send.value or b"").hexdigest(),
            send.fate == "quarantine", send.reason)
        for send, where in hostile}
    assert _kept(app) == expected

    # What the command line shows: planted and unproven messages only in quarantine.
    cli = Cli(home.path)
    with cli.projector():
        quarantine = json.loads(cli("rejected", "--quarantine", "--json").stdout)
        assert {r["source"] for r in quarantine} == {
            source for source, kept in expected.items() if kept[2]}
        for agency in ("racs", "grow"):
            own = json.loads(cli("rejected", "--agency", agency, "--json").stdout)
            assert {r["source"] for r in own} == {
                source for source, kept in expected.items() if kept[0] == agency and not kept[2]}
            assert not any(r["quarantined"] for r in own)
        assert UNKNOWN_PRODUCER in {r["agency"] for r in quarantine}
        # KafkaJS sent a real tombstone (a null value), not an empty one.
        tombstone = next(source_of(where["partition"], where["offset"]) for send, where in hostile
                         if send.value is None and send.event is None)
        assert [r["message"] for r in quarantine if r["source"] == tombstone] == [
            "the Kafka message has no value (null)"]
