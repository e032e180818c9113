# Two commands on a fresh machine (Python 3.11, Java 17, Maven):
#   make demo   - install, then run the pipeline end to end on the embedded default
#   make test   - install, then run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
# checkov (infra scan) lives in its own venv: its dependency pins must not move the project's.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: install checkov demo screenshot test lint bench clean

# --compile-bytecode: every process (each CLI, each Spark Python worker) then reads compiled modules, even
# where PYTHONDONTWRITEBYTECODE is set (as on our development machines): without it each one compiled
# great-expectations, pandas and pyspark from source again (a CLI error took 11 s instead of 5).
$(STAMP): pyproject.toml
	@command -v java >/dev/null || { echo "make: Java 17+ is needed (apt-get install openjdk-17-jre-headless)"; exit 2; }
	@command -v mvn >/dev/null || { echo "make: Maven is needed once to fetch the pinned jars (apt-get install maven)"; exit 2; }
	@command -v javac >/dev/null || { echo "make: a JDK is needed (javac compiles the SQL endpoint's guard: apt-get install openjdk-17-jdk-headless)"; exit 2; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check uv==0.13.8
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -e '.[dev]'
	$(PY) -m compileall -q src
	$(VENV)/bin/parkpal setup
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

$(CHECKOV_STAMP): $(STAMP)
	$(VENV)/bin/uv venv -q --python python3 $(CHECKOV_VENV)
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(CHECKOV_VENV)/bin/python checkov==$(CHECKOV_VERSION)
	touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP)

demo: install
	$(VENV)/bin/parkpal demo $(DEMO_ARGS)

# The README's dashboard picture (docs/images/dashboard.png) from the demo's ./lakehouse, in headless Chromium.
screenshot: install
	$(PY) tools/dashboard_screenshot.py

test: install checkov
	$(VENV)/bin/ruff check src tests benchmarks tools conftest.py
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(PY) benchmarks/simulator_throughput.py
	$(PY) benchmarks/spark_startup.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) lakehouse .pytest_cache
