# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Each installs what it needs: uv (via pip when missing) and the locked environment (uv.lock).
SHELL := /bin/bash
.DEFAULT_GOAL := help
# Resolved when a recipe runs, i.e. after `ensure-uv` may have installed it.
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)
SIM_PORT ?= 8777
SIM_DATA ?= --seed 1 --scale 2000 --start 2024-10-01 --days 14
export UV_LINK_MODE ?= copy

SUDO = $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: help ensure-uv ensure-postgres install demo orchestrate test lint bench reliability clean

help:
	@echo "make demo   - run tap-visionone -> target-csv with Meltano against the local simulator"
	@echo "make test   - install everything and run every test"
	@echo "make bench  - print the benchmark ratios (requests, tap, target, pipeline, workers)"
	@echo "make orchestrate - Dagster's UI on 127.0.0.1:$(DAGSTER_PORT) for two demo tenants, each on its own simulator"
	@echo "make reliability - run tests/reliability and the 2M-record load benchmark, write RELIABILITY.md"

ensure-uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
	  python3 -m pip install --quiet uv || python3 -m pip install --quiet --user --break-system-packages uv

# The warehouse tests start their own PostgreSQL server (tests/postgres_server.py) from Debian's package.
ensure-postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing PostgreSQL (Debian package) for the warehouse tests"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }

install: ensure-uv
	@$(UV) sync --frozen --quiet

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .

# The junit file and .reliability/figures.json let `python -m tests.reliability.report` write
# RELIABILITY.md from a CI run too. The test files run on one more pytest-xdist worker than there are
# CPUs (the workers often wait on a console script or the simulator), a whole file per worker, so each
# module's simulator or PostgreSQL server starts once; tests/conftest.py starts the slowest files first.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
test: install ensure-postgres
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	@mkdir -p .reliability
	$(UV) run pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --junitxml .reliability/junit.xml

demo: install
	@mkdir -p .meltano/run
	@$(UV) run meltano --environment=demo install >/dev/null 2>&1 || $(UV) run meltano --environment=demo install
	@$(UV) run python -m tests.simulator --port $(SIM_PORT) $(SIM_DATA) --api-key sim-key > .meltano/run/simulator.log 2>&1 & \
	  echo $$! > .meltano/run/simulator.pid; \
	  trap 'kill $$(cat .meltano/run/simulator.pid) 2>/dev/null' EXIT; \
	  for i in $$(seq 1 100); do grep -q listening .meltano/run/simulator.log && break; sleep 0.1; done; \
	  grep -q listening .meltano/run/simulator.log || { cat .meltano/run/simulator.log; exit 1; }; \
	  echo "== simulator: $$(cat .meltano/run/simulator.log | head -1)"; \
	  TAP_VISIONONE_API_KEY=sim-key TAP_VISIONONE_API_URL=http://127.0.0.1:$(SIM_PORT) \
	    $(UV) run meltano --environment=demo run --full-refresh tap-visionone target-csv && \
	  $(UV) run python -m tests.demo_report --dir output/demo $(SIM_DATA) --from 2024-10-01 --to 2024-10-15 \
	    --streams "$$(TAP_VISIONONE_API_KEY=sim-key $(UV) run meltano --environment=demo select tap-visionone --list 2>/dev/null \
	      | sed -n 's/^\s*\[selected\s*\] \([a-z_]*\)\..*/\1/p' | sort -u | paste -sd,)"

# Two demo tenants, each with its own simulator (own data and key), in Dagster's UI: the asset
# visionone_sync is partitioned by tenant and day (orchestrate/, docs/orchestrate.md). Ctrl-C stops all.
DAGSTER_PORT ?= 3000
ORCH_PORTS ?= 8781 8782
orchestrate: install
	@mkdir -p .meltano/run .dagster
	@$(UV) run meltano install >/dev/null 2>&1 || $(UV) run meltano install
	@set -- $(ORCH_PORTS); \
	  $(UV) run python -m tests.simulator --port $$1 $(SIM_DATA) --api-key demo-key-a > .meltano/run/tenant-a.log 2>&1 & echo $$! > .meltano/run/tenant-a.pid; \
	  $(UV) run python -m tests.simulator --port $$2 --seed 2 --scale 1000 --start 2024-10-01 --days 14 --api-key demo-key-b > .meltano/run/tenant-b.log 2>&1 & echo $$! > .meltano/run/tenant-b.pid; \
	  trap 'kill $$(cat .meltano/run/tenant-a.pid .meltano/run/tenant-b.pid) 2>/dev/null' EXIT; \
	  printf '%s\n' "tenants:" \
	    "  - {name: tenant-a, api_url: 'http://127.0.0.1:$$1', api_key_env: DEMO_TENANT_A_KEY, select: [detections.*, workbench_alerts.*]}" \
	    "  - {name: tenant-b, api_url: 'http://127.0.0.1:$$2', api_key_env: DEMO_TENANT_B_KEY, select: [detections.*, workbench_alerts.*]}" \
	    > .dagster/tenants.yml; \
	  $(UV) run python -m orchestrate.instance .dagster/tenants.yml > .dagster/dagster.yaml; \
	  echo "== tenants in .dagster/tenants.yml; UI on http://127.0.0.1:$(DAGSTER_PORT) (Ctrl-C stops it and the simulators)"; \
	  DEMO_TENANT_A_KEY=demo-key-a DEMO_TENANT_B_KEY=demo-key-b DAGSTER_HOME=$(CURDIR)/.dagster \
	  VISIONONE_TENANTS_FILE=$(CURDIR)/.dagster/tenants.yml VISIONONE_FIRST_DAY=2024-10-01 \
	    $(UV) run dagster dev -m orchestrate.definitions -h 127.0.0.1 -p $(DAGSTER_PORT)

# Every ratio of the README's performance table, each measured against its baseline in the same run.
BENCH_TARGET_ROWS ?= 1000000
bench: install
	$(UV) run python benchmarks/request_plan.py
	$(UV) run python benchmarks/tap_windows.py
	$(UV) run python benchmarks/tap_replay.py --repeat 3
	$(UV) run python benchmarks/target_throughput.py --memory-records $(BENCH_TARGET_ROWS)

# RELIABILITY.md is written even when a test or the load fails; the target's exit code then says so.
# LOAD_ARGS="--records 200000" for a quicker run.
RELIABILITY_DIR ?= .reliability
LOAD_ARGS ?= --records 2000000
reliability: install
	@mkdir -p $(RELIABILITY_DIR)
	@rm -f $(RELIABILITY_DIR)/figures.json $(RELIABILITY_DIR)/junit.xml $(RELIABILITY_DIR)/load.json
	@RELIABILITY_FIGURES=$(abspath $(RELIABILITY_DIR))/figures.json $(UV) run pytest -q -p no:cacheprovider \
	    tests/reliability --junitxml $(RELIABILITY_DIR)/junit.xml; tests=$$?; \
	  $(UV) run python benchmarks/load.py $(LOAD_ARGS) --json $(RELIABILITY_DIR)/load.json; load=$$?; \
	  $(UV) run python -m tests.reliability.report --figures $(RELIABILITY_DIR)/figures.json \
	    --junit $(RELIABILITY_DIR)/junit.xml --load $(RELIABILITY_DIR)/load.json --out RELIABILITY.md && \
	  exit $$(( tests || load ))

clean:
	rm -rf output .meltano/run benchmarks/.work
