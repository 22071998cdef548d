"""The composition root: where a home's event store, read model and plan are wired.

Everything of the embedded default lives under ``SCORECARD_HOME`` (default
``.scorecard`` in the working directory): ``events.sqlite`` (the event store, the
record) and ``readmodel.duckdb`` (the projection, rebuildable from the record).

Where a partnership outgrows one machine, ``SCORECARD_EVENT_STORE`` names a PostgreSQL
event store (``postgresql://user[:password]@host[:port]/database``) and
``SCORECARD_KAFKA_BOOTSTRAP`` the Kafka brokers agencies push to; the read model stays
under the home either way. Every setting comes from ``scorecard.settings``, read once
by the process's entry point and handed to ``Home``.

Only what every command needs is imported here at the start: DuckDB and the projections
(the read model's side) are imported by the methods that open the read model, and the
PostgreSQL recorder only by ``eventsourcing`` when the store is PostgreSQL. A command
that records an event then starts in about half the time it took with everything
imported (``python -X importtime -m scorecard.cli``; tests/unit/test_cli_imports.py).
"""

from __future__ import annotations

import base64
import contextlib
import os
import pwd
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from cryptography.exceptions import InvalidTag
from eventsourcing.persistence import InternalError as PersistenceInternalError

from domain.application import Scorecard
from domain.errors import CommandError
from domain.plan import load_plan_document
from scorecard.access import AccessStore, ListedUser, UserDirectory, private_file
from scorecard.recorders import POSTGRES_FACTORY_TOPIC, SQLITE_FACTORY_TOPIC
from scorecard.settings import Settings

if TYPE_CHECKING:
    import duckdb

    from projections import snapshots


@dataclass(frozen=True)
class Home:
    """One partnership's scorecard state on disk, and the settings it was opened with."""

    path: Path

    # Kept out of repr: a PostgreSQL URL may carry its password.
    event_store_url: str | None = field(default=None, repr=False)
    kafka_bootstrap: str | None = None
    settings: Settings = field(default_factory=Settings, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Home:
        return cls(settings.home, event_store_url=settings.event_store_url,
                   kafka_bootstrap=settings.kafka_bootstrap, settings=settings)

    @classmethod
    def from_environment(cls) -> Home:
        """For entry points only: reads the environment (``Settings.from_environment``)."""
        return cls.from_settings(Settings.from_environment())

    @property
    def event_store_path(self) -> Path:
        return self.path / "events.sqlite"

    @property
    def readmodel_path(self) -> Path:
        return self.path / "readmodel.duckdb"

    @property
    def access_path(self) -> Path:
        """Failed sign-ins and sign-in sessions (``scorecard.access``)."""
        return self.path / "access.sqlite"

    def event_store_env(self) -> dict[str, str]:
        """The ``eventsourcing`` persistence settings: SQLite in the home unless a URL says,
        with encryption at rest when a cipher key is configured."""
        if self.event_store_url:
            env = postgres_env(self.event_store_url)
        else:
            env = {
                "PERSISTENCE_MODULE": SQLITE_FACTORY_TOPIC,
                "SQLITE_DBNAME": str(self.event_store_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        return env | cipher_env(self.path, self.settings)

    def make_private(self) -> None:
        """The home readable by its owner only (0700), its stores 0600: the event store
        holds agency keys and password hashes (encrypted only with a cipher key), the
        read model the pseudonymous facts in clear."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        # a home owned by another account (a mounted volume) keeps its mode; the files
        # below are still the owner's alone
        with contextlib.suppress(PermissionError):
            os.chmod(self.path, 0o700)
        if not self.event_store_url:
            private_file(self.event_store_path)  # SQLite gives its -wal and -shm files
        for path in (self.readmodel_path, Path(str(self.readmodel_path) + ".wal")):
            if path.exists():
                os.chmod(path, 0o600)
        if self.snapshots_path.exists():
            with contextlib.suppress(PermissionError):
                os.chmod(self.snapshots_path, 0o700)

    def open(self, plan_file: Path | None = None) -> Scorecard:
        """The application over this home, adopting a plan when the home is new.

        A plan file is checked whole before the home is touched: a bad plan names every
        problem and leaves nothing behind."""
        document = _checked_plan(plan_file) if plan_file is not None else None
        self.make_private()
        app = self._application()
        try:
            has_plan = app.has_plan()
        except (ValueError, UnicodeDecodeError, InvalidTag) as error:
            raise CommandError(
                "cannot read the event store: it is encrypted and SCORECARD_CIPHER_KEY or "
                f"SCORECARD_CIPHER_KEY_FILE is missing or wrong ({type(error).__name__})"
            ) from None
        if document is not None or not has_plan:
            app.adopt_plan(document or _checked_plan(None))
        return app

    def _application(self, attempts: int = 5) -> Scorecard:
        """The application, its tables created if missing. PostgreSQL may refuse two
        processes creating the same tables at the same instant ("tuple concurrently
        updated", seen when ingest workers start together): the loser tries again, and
        then finds the tables there."""
        for attempt in range(attempts):
            try:
                return Scorecard(env=self.event_store_env())
            except PersistenceInternalError as error:
                if "concurrently updated" not in str(error) or attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def open_store(self) -> Scorecard:
        """The application over this home's event store without adopting anything: the
        projector's view of the record, which it only reads."""
        self.make_private()
        app = self._application()
        try:
            app.has_plan()
        except (ValueError, UnicodeDecodeError, InvalidTag) as error:
            raise CommandError(
                "cannot read the event store: it is encrypted and SCORECARD_CIPHER_KEY or "
                f"SCORECARD_CIPHER_KEY_FILE is missing or wrong ({type(error).__name__})"
            ) from None
        return app

    @property
    def snapshots_path(self) -> Path:
        """Where the projector publishes the read model for readers (``snapshots.py``)."""
        return self.path / "snapshots"

    def readmodel_key(self) -> str | None:
        """The read model's encryption key (``readmodel_key``), read afresh: a process
        holds it only while it opens a file."""
        return readmodel_key(self.path, self.settings)

    @contextmanager
    def working_readmodel(self, *, wait: float | None = None
                          ) -> Iterator[duckdb.DuckDBPyConnection]:
        """The projector's own read-write file; only a projector opens it. Raises
        ``ProjectorBusy`` when another projector holds it for longer than ``wait``
        (default ``readmodel.LOCK_RETRY_SECONDS``).
        Its publisher (``fold_and_publish``) lets go of the file after the connection."""
        import duckdb

        from projections import readmodel, snapshots

        if wait is None:
            wait = readmodel.LOCK_RETRY_SECONDS
        path = self.readmodel_path.absolute()
        with _HELD_LOCK:  # DuckDB's file lock keeps out other processes, not other threads
            if path in _HELD:
                raise ProjectorBusy("a projector of this process holds the read model")
            publisher = _HELD[path] = snapshots.Publisher(self.readmodel_path,
                                                          self.snapshots_path)
        try:
            with readmodel.connect(self.readmodel_path, wait=wait,
                                   memory_limit=self.settings.duckdb_memory_limit,
                                   key=self.readmodel_key(),
                                   discarded=lambda: snapshots.withdraw(self.snapshots_path)
                                   ) as connection:
                self.make_private()  # a new read model file, created by DuckDB's umask
                yield connection
        except duckdb.IOException as error:
            if readmodel.is_lock_conflict(error):
                raise ProjectorBusy("another projector holds the read model (is "
                                    "`scorecard project --follow` running?)") from None
            raise
        finally:
            publisher.close()
            with _HELD_LOCK:
                _HELD.pop(path, None)

    def fold_and_publish(self, app: Scorecard, connection: duckdb.DuckDBPyConnection,
                         *, publish: bool = False) -> int:
        """The projector's step: fold every new event into its working file and, when
        something was folded (or ``publish``, or nothing is published yet), publish a
        snapshot for readers. Returns how many events were folded."""
        from projections.projector import Projector

        projector = Projector(app)
        folded = projector.catch_up(connection)
        everyone = publish or self.published() is None
        if projector.users_touched or everyone:
            self._publish_sign_in_list(app, connection, None if everyone
                                       else projector.users_touched)
        if folded or everyone:
            with _HELD_LOCK:
                publisher = _HELD[self.readmodel_path.absolute()]  # working_readmodel's
            publisher.publish(connection, projector.position(connection), head_of(app))
        return folded

    def _publish_sign_in_list(self, app: Scorecard, connection: duckdb.DuckDBPyConnection,
                              touched: set[Any] | None) -> None:
        """The users whose events were just folded (all of them when ``touched`` is None:
        at the service's start, so a crash between the read model's commit and this
        cannot leave the list behind) into the access store's sign-in list, for read
        page processes."""
        if touched is None:
            found = [app.user(name) for name, in connection.execute(
                "SELECT username FROM users").fetchall()]
        else:
            found = [app.repository.get(user_id) for user_id in touched]
        UserDirectory(AccessStore(self.access_path)).publish(
            ListedUser(u.username, u.role, u.agency, u.disabled, u.password_hash)
            for u in found if u is not None)

    def project(self, app: Scorecard | None = None, *, wait: float = 30.0) -> int:
        """One catch-up of the projector, published (``scorecard project``). When a
        projector service already holds the working file, wait (up to ``wait`` seconds)
        for it to publish what the log holds instead; 0 events folded here then."""
        app = app or self.open_store()
        try:
            with self.working_readmodel(wait=0.5) as connection:
                return self.fold_and_publish(app, connection)
        except ProjectorBusy:
            head = head_of(app)
            published = self.wait_for(head, wait)
            if published is None or published.behind(head):
                raise
            return 0

    def published(self) -> snapshots.Published | None:
        from projections import snapshots

        return snapshots.latest(self.snapshots_path)

    def wait_for(self, position: int, timeout: float) -> snapshots.Published | None:
        """The published read model once it has folded ``position`` (or after
        ``timeout`` seconds, as it is)."""
        from projections import snapshots

        return snapshots.wait_for(self.snapshots_path, position, timeout)

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the newest published read model. Never folds: the
        projector (``scorecard project --follow``) is the read model's only writer."""
        from projections import snapshots

        with snapshots.open_latest(self.snapshots_path, self.settings.duckdb_memory_limit,
                                   self.readmodel_key()) as (connection, _published):
            yield connection

    @contextmanager
    def projected(self, app: Scorecard | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run the projector once, then read what it published: for tests and tools that
        play both parts in one process (a page or a report only ever uses ``reader``)."""
        self.project(app)
        with self.reader() as connection:
            yield connection

    def rebuild(self, app: Scorecard | None = None) -> int:
        """Throw the read model away and fold the whole event store again."""
        app = app or self.open_store()
        with self.working_readmodel(wait=1.0):
            pass  # refuse while a projector service holds the file
        for suffix in ("", ".wal"):
            Path(str(self.readmodel_path) + suffix).unlink(missing_ok=True)
        with self.working_readmodel() as connection:
            return self.fold_and_publish(app, connection, publish=True)


def _checked_plan(plan_file: Path | None) -> dict[str, Any]:
    """The plan document (the bundled plan without a file), each measure checked against
    what the read model can count: only a new home or a new plan needs it, so the read
    model's module is imported here rather than by every command."""
    from projections.measures import check_plan_measure

    return load_plan_document(plan_file, check_plan_measure)


# Working files a projector of this process has open, and the publisher of each
_HELD: dict[Path, snapshots.Publisher] = {}
_HELD_LOCK = threading.Lock()


class ProjectorBusy(CommandError):
    """The projector's working file is held by another projector."""


def head_of(app: Scorecard) -> int:
    """The event log's last notification id (0 when empty)."""
    return int(app.recorder.max_notification_id() or 0)


CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"


def cipher_env(home: Path, settings: Settings) -> dict[str, str]:
    """Encryption at rest of the event store (AES-GCM), when a key is configured."""
    key = cipher_key(home, settings)
    return {"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": key} if key else {}


def cipher_key(home: Path, settings: Settings) -> str | None:
    """The event store's key, from ``SCORECARD_CIPHER_KEY`` or the file named by
    ``SCORECARD_CIPHER_KEY_FILE``, which must lie outside the home: a key kept beside
    the data it protects protects nothing. The file is read each time the store is
    opened, so a process holds the key only while it has the store open."""
    return _key(home, settings.cipher_key, settings.cipher_key_file,
                "SCORECARD_CIPHER_KEY_FILE", "cipher key")


def readmodel_key(home: Path, settings: Settings) -> str | None:
    """The key the read model (the projector's working file and its snapshots) is
    encrypted with: ``SCORECARD_READMODEL_KEY`` or its file when given, else derived
    from the event store's cipher key (``derive_readmodel_key``); None without either,
    and then the read model is plain. A read page process is given this key alone."""
    given = _key(home, settings.readmodel_key, settings.readmodel_key_file,
                 "SCORECARD_READMODEL_KEY_FILE", "read-model key")
    if given is not None:
        from projections import engine

        try:
            return engine.check_key(given)
        except engine.KeyRefused as refused:
            raise CommandError(f"SCORECARD_READMODEL_KEY: {refused}") from None
    cipher = cipher_key(home, settings)
    return derive_readmodel_key(cipher) if cipher else None


def _key(home: Path, value: str | None, file: Path | None, name: str, what: str
         ) -> str | None:
    if file is None:
        return value or None
    if file.is_relative_to(home.absolute()):
        raise CommandError(f"{name} must be outside SCORECARD_HOME")
    try:
        return file.read_text("utf-8").strip() or None
    except OSError as error:
        raise CommandError(f"cannot read {what} file {file}: {error.strerror}") from None


# The HKDF label of the read model's key: a different label would give another key, so
# a key derived for anything else is never the read model's, and the read model's key
# tells nothing of the cipher key it came from.
READMODEL_KEY_INFO = b"partnership-scorecard read model: DuckDB database encryption v1"


def derive_readmodel_key(cipher: str) -> str:
    """The read model's key derived from the event store's cipher key (HKDF-SHA256,
    256 bits, base64): the projector and a write page derive it; a read page is given
    it (``SCORECARD_READMODEL_KEY``), so it can read the board's figures without the key
    to the record."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=READMODEL_KEY_INFO).derive(cipher.encode("utf-8"))
    return base64.b64encode(derived).decode("ascii")


def new_cipher_key() -> str:
    """A new 256-bit key, base64-encoded, for ``SCORECARD_CIPHER_KEY``."""
    from eventsourcing.cryptography import AESCipher

    return AESCipher.create_key(32)


def redacted_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for an error message or a log.

    Worked out by hand rather than with ``urlsplit``, so that a URL too malformed to
    parse (a bad port, a stray bracket) is redacted too: everything between the scheme's
    ``//`` and the last ``@`` before the path is credentials, and after its first ``:``
    a password.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    authority_end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            authority_end = min(authority_end, found)
    authority, tail = rest[:authority_end], rest[authority_end:]
    credentials, at, host = authority.rpartition("@")
    if not at:
        return url
    user, colon, _password = credentials.partition(":")
    shown = f"{user}:***" if colon else user
    return f"{scheme}{separator}{shown}@{host}{tail}"


def postgres_env(url: str) -> dict[str, str]:
    """``eventsourcing.postgres`` settings from a ``postgresql://`` URL, with the
    scorecard's PostgreSQL recorder (``scorecard/recorders.py``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise CommandError(f"SCORECARD_EVENT_STORE is not a URL ({error}): "
                           f"{redacted_url(url)!r}") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise CommandError("SCORECARD_EVENT_STORE must be a postgresql:// URL, not "
                           f"{redacted_url(url)!r}")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise CommandError("SCORECARD_EVENT_STORE names no database (postgresql://host/DB)")
    return {
        "PERSISTENCE_MODULE": POSTGRES_FACTORY_TOPIC,
        "POSTGRES_DBNAME": database,
        "POSTGRES_HOST": parts.hostname or "localhost",
        "POSTGRES_PORT": str(port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
    }


def actor() -> str:
    """Who is acting at the command line, for the audit trail: the operating-system
    account the process runs as (its effective uid, which the OS authenticated), never
    an environment variable a caller could set. A backfill needs more: an administrator's
    password (``scorecard push --known-at ... --admin NAME``)."""
    uid = os.geteuid()
    try:
        return f"os:{pwd.getpwuid(uid).pw_name}"
    except KeyError:  # a container run with --user UID that has no account entry
        return f"os:uid {uid}"

