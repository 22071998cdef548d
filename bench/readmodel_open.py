"""What opening the read model costs, plain and encrypted (issue 17 item 3): a read of a
million facts-like rows (open, group, close), through the shared DuckDB instance
(``projections/engine.py``) with and without the read model's key, against a new DuckDB
instance per open (how readers opened a file before), all measured in the same run.

    PYTHONPATH=. python bench/readmodel_open.py [--rows 1000000] [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from projections import engine
from scorecard.bootstrap import derive_readmodel_key, new_cipher_key

READ = "SELECT agency, count(*) FROM facts GROUP BY agency"


def median_ms(read: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        read()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="readmodel-open-"))
    key = derive_readmodel_key(new_cipher_key())
    plain, encrypted = folder / "plain.duckdb", folder / "encrypted.duckdb"
    for path, path_key in ((plain, None), (encrypted, key)):
        written = engine.attach(path, key=path_key)
        written.connection.execute(
            "CREATE TABLE facts AS SELECT 'agency-' || (i % 12)::VARCHAR AS agency, "
            "'CASE-' || i::VARCHAR AS case_ref FROM range(?) t(i)", [args.rows])
        written.close()

    def instance_per_open() -> object:
        with duckdb.connect(str(plain), read_only=True) as connection:
            return connection.execute(READ).fetchall()

    def attached(path: Path, path_key: str | None) -> Callable[[], object]:
        def read() -> object:
            opened = engine.attach(path, read_only=True, key=path_key)
            try:
                return opened.connection.execute(READ).fetchall()
            finally:
                opened.close()
        return read

    figures = {"rows": args.rows,
               "new_instance_per_open_ms": median_ms(instance_per_open, args.runs),
               "shared_instance_plain_ms": median_ms(attached(plain, None), args.runs),
               "shared_instance_encrypted_ms": median_ms(attached(encrypted, key), args.runs)}
    figures["encryption_ratio"] = round(
        figures["shared_instance_encrypted_ms"] / figures["shared_instance_plain_ms"], 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
