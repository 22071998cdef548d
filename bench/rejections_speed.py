"""The agency's rejected-events list at scale (issue 16 item 4): the counts and one page
of 200,000 rejections beside 100,000 facts, against a plain count of the same table
measured in the same run (the test suite checks what the listing returns, never how
long it takes).

    PYTHONPATH=. python bench/rejections_speed.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import duckdb

from projections.readmodel import SCHEMA
from projections.rejected import RejectedFilter, own_rejection_counts, own_rejections
from tests.integration.test_rejected_at_scale import fill_200000_rejections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    connection = duckdb.connect()
    connection.execute(SCHEMA)
    fill_200000_rejections(connection)
    listing, scan = [], []
    for _ in range(runs):
        started = time.perf_counter()
        own_rejection_counts(connection, "racs")
        own_rejections(connection, "racs", RejectedFilter(reason="no_open_case"), limit=100,
                       offset=50_000)
        listing.append(time.perf_counter() - started)
        started = time.perf_counter()
        connection.execute("SELECT count(*) FROM rejections WHERE agency = 'racs'").fetchone()
        scan.append(time.perf_counter() - started)
    listed, counted = statistics.median(listing) * 1000, statistics.median(scan) * 1000
    print(json.dumps({"rejections": 200_000, "counts_and_a_page_ms": round(listed, 1),
                      "plain_count_ms": round(counted, 2),
                      "ratio": round(listed / counted, 1) if counted else None,
                      "target_ms": 1000, "met": listed < 1000}))


if __name__ == "__main__":
    main()
