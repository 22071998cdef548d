"""Kafka client settings, shared by the ingest workers and producers.

``SCORECARD_KAFKA_BOOTSTRAP`` names the brokers; a broker with SASL (the production
compose file uses SCRAM-SHA-512) also needs the security settings, which
``scorecard.settings`` reads (``SCORECARD_KAFKA_*``) and maps one to one onto
librdkafka's configuration.
"""

from __future__ import annotations

from collections.abc import Iterable


def client_config(bootstrap: str, security: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """``bootstrap.servers`` plus the librdkafka security options given."""
    return {"bootstrap.servers": bootstrap, **dict(security)}
