"""Kafka client settings from the environment, shared by the ingest workers and producers.

``SCORECARD_KAFKA_BOOTSTRAP`` names the brokers; a broker with SASL (the production
compose file uses SCRAM-SHA-512) also needs the settings below, which map one to one onto
librdkafka's configuration.
"""

from __future__ import annotations

import os

SETTINGS = {
    "SCORECARD_KAFKA_SECURITY_PROTOCOL": "security.protocol",
    "SCORECARD_KAFKA_SASL_MECHANISM": "sasl.mechanism",
    "SCORECARD_KAFKA_SASL_USERNAME": "sasl.username",
    "SCORECARD_KAFKA_SASL_PASSWORD": "sasl.password",
    "SCORECARD_KAFKA_SSL_CA_LOCATION": "ssl.ca.location",
}


def client_config(bootstrap: str) -> dict[str, str]:
    """``bootstrap.servers`` plus whichever security settings the environment gives."""
    config = {"bootstrap.servers": bootstrap}
    for variable, setting in SETTINGS.items():
        value = os.environ.get(variable, "").strip()
        if value:
            config[setting] = value
    return config
