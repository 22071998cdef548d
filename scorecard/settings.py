"""Every setting of the scorecard, in one list, read once at start-up and passed in.

A process reads its environment here and nowhere else (``Settings.from_environment``);
everything below the composition root receives a ``Settings`` or the values it needs.
``SETTINGS`` is the list a newcomer adds a setting to: its name, its default, what it
means and whether it is a secret. ``scorecard settings`` prints the effective values
(secrets masked) and ``scorecard settings --table`` the table in docs/operations.md,
which a unit test keeps equal to this list.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal, cast

from domain.errors import CommandError

DEFAULT_HOME = ".scorecard"
PAGE_SETS = ("all", "read", "write")
Pages = Literal["all", "read", "write"]


@dataclass(frozen=True)
class Setting:
    """One environment variable: ``default`` is what applies when it is unset (in words
    when there is no single value), ``meaning`` what setting it does."""

    name: str
    default: str
    meaning: str
    secret: bool = False


# Kafka client security, one to one onto librdkafka's configuration.
KAFKA_CLIENT = {
    "SCORECARD_KAFKA_SECURITY_PROTOCOL": "security.protocol",
    "SCORECARD_KAFKA_SASL_MECHANISM": "sasl.mechanism",
    "SCORECARD_KAFKA_SASL_USERNAME": "sasl.username",
    "SCORECARD_KAFKA_SASL_PASSWORD": "sasl.password",
    "SCORECARD_KAFKA_SSL_CA_LOCATION": "ssl.ca.location",
}

SETTINGS: tuple[Setting, ...] = (
    Setting("SCORECARD_HOME", f"`{DEFAULT_HOME}`",
            "folder (0700) of the SQLite event store (when used), the projector's DuckDB "
            "read model and the snapshots it publishes (`snapshots/`), and `access.sqlite` "
            "(page sessions, the sign-in list, a read page's failed sign-ins), each 0600"),
    Setting("SCORECARD_EVENT_STORE", "SQLite: `$SCORECARD_HOME/events.sqlite`",
            "`postgresql://user[:password]@host[:port]/database`: `eventsourcing`'s "
            "PostgreSQL persistence (tables `scorecard_events`, `scorecard_tracking`, "
            "created on first use); shown with its password masked", secret=True),
    Setting("SCORECARD_CIPHER_KEY", "no encryption",
            "base64 AES key (`scorecard cipher-key`): the event store encrypted at rest",
            secret=True),
    Setting("SCORECARD_CIPHER_KEY_FILE", "none",
            "a file (outside the home) holding the cipher key, instead of the variable"),
    Setting("SCORECARD_READMODEL_KEY", "derived from the cipher key; none without one",
            "base64 key of the read model's DuckDB encryption (its working file and "
            "snapshots): for read page processes, which get no cipher key. "
            "`scorecard readmodel-key` prints the one derived from the cipher key (HKDF); "
            "given, it is used instead of that one by every process", secret=True),
    Setting("SCORECARD_READMODEL_KEY_FILE", "none",
            "a file (outside the home) holding the read-model key, instead of the variable"),
    Setting("SCORECARD_KAFKA_BOOTSTRAP", "no Kafka: `push` writes to the event store",
            "brokers (`host:port,…`): `push` produces to Kafka; `ingest` consumes"),
    Setting("SCORECARD_KAFKA_SECURITY_PROTOCOL", "librdkafka's (`plaintext`)",
            "Kafka `security.protocol`, e.g. `SASL_SSL`"),
    Setting("SCORECARD_KAFKA_SASL_MECHANISM", "none", "Kafka `sasl.mechanism`, e.g. "
            "`SCRAM-SHA-512`"),
    Setting("SCORECARD_KAFKA_SASL_USERNAME", "none", "Kafka `sasl.username`"),
    Setting("SCORECARD_KAFKA_SASL_PASSWORD", "none", "Kafka `sasl.password`", secret=True),
    Setting("SCORECARD_KAFKA_SSL_CA_LOCATION", "system CAs", "Kafka `ssl.ca.location`"),
    Setting("SCORECARD_DUCKDB_MEMORY_LIMIT", "DuckDB's (80% of RAM)",
            "e.g. `512MB`: caps what a process's DuckDB keeps in memory for the read-model "
            "files it has open (its cache of what it read included; beyond it, a query "
            "spills to `TMPDIR`, encrypted with the read model); a page over 10M events "
            "otherwise grows to about 1 GB"),
    Setting("SCORECARD_PAGES", "`all`",
            "which pages a page process serves: `read` (board, measure, scrutiny, "
            "evidence; it opens neither the event store nor its key, so give it no "
            "event-store URL or cipher key, only `SCORECARD_READMODEL_KEY` when the read "
            "model is encrypted), `write` (agency returns and administration) or `all`"),
    Setting("SCORECARD_SESSION_IDLE_MINUTES", "`30`",
            "a page sign-in ends after this many minutes without a click"),
    Setting("SCORECARD_SESSION_MAX_HOURS", "`12`",
            "a page sign-in ends this many hours after it began, however busy"),
    Setting("SCORECARD_TRUST_FORWARDED_FOR", "off",
            "`1` behind a reverse proxy: the sign-in throttle takes the browser's address "
            "from the last `X-Forwarded-For` entry"),
    Setting("SCORECARD_OIDC_ROLE_CLAIM", "`scorecard_role`",
            "single sign-on (an `[auth]` section in Streamlit's `secrets.toml`): the ID "
            "token claim whose value gives the user's role (a text or a list of texts)"),
    Setting("SCORECARD_OIDC_ROLE_VALUES", "each role's own name",
            "`value=role,…`: which claim values mean which role (`agency`, `board`, "
            "`scrutiny`, `administrator`), e.g. `cse-board=board,councillors=scrutiny`; a "
            "user whose claim maps to no role, or to two, is refused"),
    Setting("SCORECARD_OIDC_AGENCY_CLAIM", "`scorecard_agency`",
            "single sign-on: the claim naming an agency user's agency code"),
    Setting("SCORECARD_PASSWORD", "prompt",
            "the new password for `scorecard user add` and `user reset-password`",
            secret=True),
    Setting("SCORECARD_ADMIN", "none",
            "the administrator authorising a `--known-at` backfill when `--admin` is not "
            "given (their password is still checked), so the contract's `scorecard push "
            "... --known-at DATETIME` runs as written"),
    Setting("SCORECARD_ADMIN_PASSWORD", "prompt",
            "the password of the administrator named by `--admin` (or `SCORECARD_ADMIN`) "
            "for a `--known-at` backfill", secret=True),
    Setting("SCORECARD_FAULT_AFTER_COMMIT", "none",
            "tests only: an ingest worker SIGKILLs itself after its Nth committed batch "
            "(see *Fault injection*)"),
)
NAMES = tuple(setting.name for setting in SETTINGS)
# What a read page process is never given: the record's address and keys, and passwords.
STORE_ACCESS = frozenset({"SCORECARD_EVENT_STORE", "SCORECARD_CIPHER_KEY",
                          "SCORECARD_CIPHER_KEY_FILE", "SCORECARD_KAFKA_SASL_PASSWORD",
                          "SCORECARD_PASSWORD", "SCORECARD_ADMIN_PASSWORD"})
SECRET = frozenset(setting.name for setting in SETTINGS if setting.secret)


def _positive(name: str, text: str, default: float) -> float:
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"{name} must be a number, not {text!r}") from None
    if value <= 0:
        raise CommandError(f"{name} must be more than 0, not {text}")
    return value


def _pairs(name: str, text: str) -> tuple[tuple[str, str], ...]:
    """``a=b,c=d`` as ((a, b), (c, d)); a value may not be empty."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = item.partition("=")
        if not equals or not key.strip() or not value.strip():
            raise CommandError(f"{name} is a list of value=role, not {item!r}")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


@dataclass(frozen=True)
class Settings:
    """The effective configuration of one process. Built by ``from_environment`` at
    start-up; tests build one directly. Secrets are kept out of ``repr``."""

    home: Path = Path(DEFAULT_HOME)
    event_store_url: str | None = field(default=None, repr=False)
    cipher_key: str | None = field(default=None, repr=False)
    cipher_key_file: Path | None = None
    readmodel_key: str | None = field(default=None, repr=False)
    readmodel_key_file: Path | None = None
    kafka_bootstrap: str | None = None
    kafka_security: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    duckdb_memory_limit: str | None = None
    pages: Pages = "all"
    session_idle: timedelta = timedelta(minutes=30)
    session_max: timedelta = timedelta(hours=12)
    trust_forwarded_for: bool = False
    oidc_role_claim: str = "scorecard_role"
    oidc_role_values: tuple[tuple[str, str], ...] = ()  # (claim value, role); none: the names
    oidc_agency_claim: str = "scorecard_agency"
    password: str | None = field(default=None, repr=False)
    admin: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    fault_after_commit: int | None = None
    given: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # as read, by name

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting of ``SETTINGS`` (and nothing else) from the environment."""
        source = os.environ if environ is None else environ
        given = {name: source.get(name, "").strip() for name in NAMES}
        given = {name: value for name, value in given.items() if value}
        pages = given.get("SCORECARD_PAGES", "all")
        if pages not in PAGE_SETS:
            raise CommandError(f"SCORECARD_PAGES must be one of {', '.join(PAGE_SETS)}, "
                               f"not {pages!r}")
        fault = given.get("SCORECARD_FAULT_AFTER_COMMIT")
        key_file = given.get("SCORECARD_CIPHER_KEY_FILE")
        readmodel_key_file = given.get("SCORECARD_READMODEL_KEY_FILE")
        return cls(
            home=Path(given.get("SCORECARD_HOME") or DEFAULT_HOME).absolute(),
            event_store_url=given.get("SCORECARD_EVENT_STORE"),
            cipher_key=given.get("SCORECARD_CIPHER_KEY"),
            cipher_key_file=Path(key_file).absolute() if key_file else None,
            readmodel_key=given.get("SCORECARD_READMODEL_KEY"),
            readmodel_key_file=(Path(readmodel_key_file).absolute() if readmodel_key_file
                                else None),
            kafka_bootstrap=given.get("SCORECARD_KAFKA_BOOTSTRAP"),
            kafka_security=tuple((option, given[name]) for name, option in KAFKA_CLIENT.items()
                                 if name in given),
            duckdb_memory_limit=given.get("SCORECARD_DUCKDB_MEMORY_LIMIT"),
            pages=cast(Pages, pages),
            session_idle=timedelta(minutes=_positive(
                "SCORECARD_SESSION_IDLE_MINUTES",
                given.get("SCORECARD_SESSION_IDLE_MINUTES", ""), 30)),
            session_max=timedelta(hours=_positive(
                "SCORECARD_SESSION_MAX_HOURS", given.get("SCORECARD_SESSION_MAX_HOURS", ""), 12)),
            trust_forwarded_for=given.get("SCORECARD_TRUST_FORWARDED_FOR") == "1",
            oidc_role_claim=given.get("SCORECARD_OIDC_ROLE_CLAIM", "scorecard_role"),
            oidc_role_values=_pairs("SCORECARD_OIDC_ROLE_VALUES",
                                    given.get("SCORECARD_OIDC_ROLE_VALUES", "")),
            oidc_agency_claim=given.get("SCORECARD_OIDC_AGENCY_CLAIM", "scorecard_agency"),
            password=given.get("SCORECARD_PASSWORD"),
            admin=given.get("SCORECARD_ADMIN"),
            admin_password=given.get("SCORECARD_ADMIN_PASSWORD"),
            fault_after_commit=int(fault) if fault else None,
            given=tuple(sorted(given.items())),
        )

    @property
    def reads_only(self) -> bool:
        """A read page process: it never opens the event store, nor holds a key."""
        return self.pages == "read"

    def without_store_access(self, readmodel_key: str | None = None) -> Settings:
        """These settings less every event-store, Kafka and password secret: what a read
        page process is started with; with ``readmodel_key`` (the read model's key,
        derived from the cipher key it does not get) when the read model is encrypted
        and no read-model key of its own is set."""
        given = {name: value for name, value in self.given if name not in STORE_ACCESS}
        if readmodel_key is not None and not (self.readmodel_key or self.readmodel_key_file):
            given["SCORECARD_READMODEL_KEY"] = readmodel_key  # the derived one
        return Settings.from_environment(given | {"SCORECARD_HOME": str(self.home),
                                                  "SCORECARD_PAGES": "read"})

    def effective(self) -> list[tuple[str, str]]:
        """(name, value shown) for every setting: the value given with secrets masked
        (a URL keeps all but its password), or the default in brackets."""
        given = dict(self.given)
        shown = []
        for setting in SETTINGS:
            value = given.get(setting.name)
            if value is None:
                shown.append((setting.name, f"(unset: {setting.default})"))
            elif setting.name == "SCORECARD_EVENT_STORE":
                from scorecard.bootstrap import redacted_url

                shown.append((setting.name, redacted_url(value)))
            elif setting.secret:
                shown.append((setting.name, "*** (set)"))
            else:
                shown.append((setting.name, value))
        return shown

    def environment(self) -> dict[str, str]:
        """The variables that give these settings to a child process."""
        return dict(self.given) | {"SCORECARD_HOME": str(self.home)}


def markdown_table() -> str:
    """The settings table of docs/operations.md."""
    lines = ["| variable | unset | meaning | secret |", "|---|---|---|---|"]
    for setting in SETTINGS:
        lines.append(f"| `{setting.name}` | {setting.default} | {setting.meaning} | "
                     f"{'yes' if setting.secret else ''} |")
    return "\n".join(lines) + "\n"
