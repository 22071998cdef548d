# The two commands of the README: `make demo` and `make test`. Both set up everything
# they need on a fresh machine (a virtual environment in .venv with the project installed).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser node-kafka oidc-provider axe demo test lint fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Debian's Chromium for the browser tests (Playwright drives it; it never downloads one)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## KafkaJS (npm, pinned by its package-lock.json) for the test in which a Node.js client
## produces to agency-events (tests/integration/test_node_kafka_producer.py)
NODE_KAFKA := tests/integration/node_kafka
NODE_KAFKA_STAMP := $(NODE_KAFKA)/node_modules/.installed
$(NODE_KAFKA_STAMP): $(NODE_KAFKA)/package.json $(NODE_KAFKA)/package-lock.json
	npm ci --prefix $(NODE_KAFKA) --no-audit --no-fund --silent
	touch $(NODE_KAFKA_STAMP)

node-kafka: $(NODE_KAFKA_STAMP)

## The certified OpenID Connect provider `oidc-provider` (npm, pinned by its
## package-lock.json), started on loopback by the single sign-on browser test
## (tests/e2e/test_single_sign_on.py)
OIDC_PROVIDER := tests/e2e/oidc
OIDC_PROVIDER_STAMP := $(OIDC_PROVIDER)/node_modules/.installed
$(OIDC_PROVIDER_STAMP): $(OIDC_PROVIDER)/package.json $(OIDC_PROVIDER)/package-lock.json
	npm ci --prefix $(OIDC_PROVIDER) --no-audit --no-fund --silent
	touch $(OIDC_PROVIDER_STAMP)

oidc-provider: $(OIDC_PROVIDER_STAMP)

## axe-core (npm, pinned by its package-lock.json): the browser tests inject it into every
## page of every role and fail on a serious or critical WCAG 2.2 AA violation
## (tests/e2e/test_accessibility.py; docs/accessibility.md)
AXE := tests/e2e/axe
AXE_STAMP := $(AXE)/node_modules/.installed
$(AXE_STAMP): $(AXE)/package.json $(AXE)/package-lock.json
	npm ci --prefix $(AXE) --no-audit --no-fund --silent
	touch $(AXE_STAMP)

axe: $(AXE_STAMP)

## Build the demo home (.scorecard) and serve the scorecard on http://127.0.0.1:8501/
demo: install
	$(BIN)/scorecard demo

## Lint, type-check and run the whole test suite, in TEST_WORKERS processes (pytest-xdist;
## a test file stays in one process, so a module's server or demo home is built once)
TEST_WORKERS ?= 2
test: install browser node-kafka oidc-provider axe lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

## The push path under a million generated lines (the suite runs a few thousand), and the
## Kafka path under 20,000 generated messages (the suite runs 400)
fuzz: install
	FUZZ_LINES=$${FUZZ_LINES:-1000000} $(BIN)/pytest -q -s tests/integration/test_fuzz_push.py
	FUZZ_KAFKA_MESSAGES=$${FUZZ_KAFKA_MESSAGES:-20000} $(BIN)/pytest -q -s tests/integration/test_fuzz_kafka.py

## The demo's report against a plain scan and the page in Chromium against a bare
## Streamlit page (bench/report_speed.py, bench/page_speed.py), then national-scale
## benchmarks: ingest against an in-run ceiling, freshness, report, rebuild, memory
## (not a test; about ten minutes at 1M events; BENCH_EVENTS=10000000 for 10M;
## docs/benchmarks.md). bench/ingest_throughput.py alone gives the ingest figures.
bench: install
	PYTHONPATH=. $(BIN)/python bench/report_speed.py
	PYTHONPATH=. $(BIN)/python bench/rejections_speed.py
	PYTHONPATH=. $(BIN)/python bench/readmodel_open.py
	PYTHONPATH=. $(BIN)/python bench/page_speed.py --events $${BENCH_EVENTS:-1000000}
	PYTHONPATH=. $(BIN)/python bench/scale.py --events $${BENCH_EVENTS:-1000000}

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(NODE_KAFKA)/node_modules $(OIDC_PROVIDER)/node_modules $(AXE)/node_modules .scorecard .pytest_cache \
		.mypy_cache .ruff_cache test-output
