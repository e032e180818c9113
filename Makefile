# Two commands on a fresh machine (Python 3.11, Java 17, Maven):
#   make demo   - install, then run the pipeline end to end on the embedded default
#   make test   - install, then run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
# The dependencies locked for Linux x86_64 and Python 3.11 (CI and the project's machines): `make lock` writes it
# from pyproject.toml. Installing from it takes each file by its URL and sha256, without asking the index for
# versions (a fresh machine's package step 42 -> 34 s: uv's resolution was ~8 s of it; issue 21); anywhere else
# (another OS or Python) `make install` resolves pyproject.toml as before.
LOCK := pylock.toml
LOCK_TARGET := --python-version 3.11 --python-platform x86_64-manylinux_2_28
# Where its wheels install: CPython 3.11 on x86_64 Linux with glibc 2.28 or newer (manylinux_2_28; not musl).
# pyspark is published only as a source archive, so a fresh machine builds its wheel: ~450 MB of jars packed into a
# zip that uv unpacks again at once. Stored rather than deflated, the same files build in 5.4 s instead of 13.8 s,
# and a cold install of the lock takes 20-24 s instead of 28-32 s (issue 21, docs/ingestion.md).
SDIST_BUILD := --config-settings-package 'pyspark:--build-option=--compression=stored'
LOCKED_HERE := import platform, sys; libc, version = platform.libc_ver(); \
  sys.exit(not (sys.version_info[:2] == (3, 11) and sys.platform == "linux" and platform.machine() == "x86_64" \
  and libc == "glibc" and tuple(int(p) for p in version.split(".")[:2]) >= (2, 28)))
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | sha256sum | cut -c1-12)
# checkov (infra scan) lives in its own venv: its dependency pins must not move the project's.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
# What a fresh install writes (MiB, measured on a fresh machine, 2026-12-06: 3,452 at the peak; by folder, `du`: the
# venv 1,559, uv's cache, where pyspark's wheel is built, ~1,500, the jars and class archive 434, Maven's 153), with
# room to spare: checked first, so a short disk is one line, not a build error deep in pyspark's wheel
# (`tools/free_disk.py`; CI's stop 79 failed there with "No space left on device"). The margin (~800) also holds what
# `bash .ci/run` adds: checkov's venv (265 by `du`) and the suite's temporary tables (170 at most, measured over a run).
UV_CACHE := $(or $(UV_CACHE_DIR),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/uv)
# The jar cache where `runtime/jars.cache_root` puts it (the system's Python: no venv yet), read when the install runs.
JAR_CACHE = $(shell PARKPAL_JAR_CACHE='$(PARKPAL_JAR_CACHE)' XDG_CACHE_HOME='$(XDG_CACHE_HOME)' PYTHONPATH=src \
  python3 -c 'from parkpal_lakehouse.runtime.jars import cache_root; print(cache_root())')
# A folder already there (a reinstall, warm caches) is not asked for again: the check is for a fresh machine.
VENV_MIB := $(if $(wildcard $(VENV)/bin/python),0,1800)
UV_CACHE_MIB := $(if $(wildcard $(UV_CACHE)),0,1800)
JAR_CACHE_MIB = $(if $(wildcard $(JAR_CACHE)),0,700)
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: install lock checkov demo screenshot test lint bench clean

# --compile-bytecode: every process (each CLI, each Spark Python worker) then reads compiled modules, even
# where PYTHONDONTWRITEBYTECODE is set (as on our development machines): without it each one compiled
# great-expectations, pandas and pyspark from source again (a CLI error took 11 s instead of 5).
$(STAMP): pyproject.toml $(LOCK)
	@python3 tools/free_disk.py --for 'a fresh install' $(VENV)=$(VENV_MIB) $(UV_CACHE)=$(UV_CACHE_MIB) $(JAR_CACHE)=$(JAR_CACHE_MIB)
	@command -v java >/dev/null || { echo "make: Java 17+ is needed (apt-get install openjdk-17-jre-headless)"; exit 2; }
	@command -v mvn >/dev/null || { echo "make: Maven is needed once to fetch the pinned jars (apt-get install maven)"; exit 2; }
	@command -v javac >/dev/null || { echo "make: a JDK is needed (javac compiles the SQL endpoint's guard: apt-get install openjdk-17-jdk-headless)"; exit 2; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check uv==0.13.8
	if $(PY) -c '$(LOCKED_HERE)'; then \
	  $(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) $(SDIST_BUILD) -r $(LOCK) \
	  && $(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) --no-deps -e .; \
	else $(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) $(SDIST_BUILD) -e '.[dev]'; fi
	@# a lock older than pyproject.toml's dependencies fails here, naming what is missing: run `make lock`
	$(VENV)/bin/uv pip check -q --python $(PY)
	$(PY) -m compileall -q src
	$(VENV)/bin/parkpal setup
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# After changing pyproject.toml's dependencies (or to take newer releases of the ranged ones): write the lock again.
lock:
	@test -x $(VENV)/bin/uv || { python3 -m venv $(VENV) && $(VENV)/bin/pip install -q --disable-pip-version-check uv==0.13.8; }
	$(VENV)/bin/uv pip compile -q pyproject.toml --extra dev $(LOCK_TARGET) --format pylock.toml -o $(LOCK)

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
