# basetap: `make demo` shows it at work, `make test` runs the test suite.
# Both install what they need (Debian packages, a Python venv for test peers) when it is missing.

SWIFT      ?= swift
VENV       ?= .venv
PYTHON     ?= python3
APT_PACKAGES = libpcap-dev zlib1g-dev libwebsockets-dev libwebsockets-test-server tcpdump tshark openssl chromium
PY_PACKAGES  = websockets==13.1 jsonschema
BIN         = .build/debug/basetap
RELEASE_BIN = .build/release/basetap
WSBENCH     = .build/bench/wsbench

FUZZ_SECONDS ?= 60
FUZZ_TARGETS = json-reader entity-id websocket-frames pcap jsonl-capture profile tls-records
FUZZ_BIN     = .build-fuzz/release/basetap-fuzz

.PHONY: all build release deps venv demo test test-stress bench fuzz-self clean

all: build

# Installs the Debian packages that are not there yet (as root, or through sudo).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -m venv --help >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# A Python venv with the peers the tests talk to (websockets) and the benchmark baseline (jsonschema).
venv: $(VENV)/.installed
$(VENV)/.installed:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q $(PY_PACKAGES)
	touch $@

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps venv
	$(SWIFT) build --build-tests
	BASETAP_PYTHON=$(CURDIR)/$(VENV)/bin/python $(SWIFT) test --skip-build --disable-xctest

# The whole suite STRESS_RUNS times in a row while another process keeps every core busy: a test
# that leans on timing fails here long before it fails in CI. Each run's log: .build/stress-N.log.
STRESS_RUNS ?= 10
test-stress: deps venv
	$(SWIFT) build --build-tests
	@cores=$$(nproc); pids=""; \
	for i in $$(seq $$cores); do sh -c 'while :; do :; done' & pids="$$pids $$!"; done; \
	trap 'kill $$pids 2>/dev/null' EXIT INT TERM; failed=0; \
	for run in $$(seq $(STRESS_RUNS)); do \
	  log=.build/stress-$$run.log; \
	  if BASETAP_PYTHON=$(CURDIR)/$(VENV)/bin/python $(SWIFT) test --skip-build --disable-xctest > $$log 2>&1; then \
	    echo "run $$run of $(STRESS_RUNS) ($$cores cores kept busy): $$(grep -E 'Test run with' $$log)"; \
	  else \
	    failed=$$((failed + 1)); echo "run $$run of $(STRESS_RUNS) FAILED ($$log):"; grep -E '✘' $$log | head -20; \
	  fi; \
	done; \
	echo "$$(( $(STRESS_RUNS) - failed )) of $(STRESS_RUNS) runs green"; [ $$failed = 0 ]

demo: build venv
	@sh Captures/demo.sh $(BIN) $(VENV)/bin/python

# Native peers for the benchmarks (C, plain sockets): Python ones would measure themselves.
$(WSBENCH): Benchmarks/native/wsbench.c
	@mkdir -p $(dir $@)
	cc -O2 -Wall -o $@ $< -lpthread

bench: release venv $(WSBENCH)
	@dpkg -s haproxy >/dev/null 2>&1 || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; $$SUDO apt-get install -y -qq haproxy >/dev/null || echo "haproxy could not be installed; the proxy benchmark runs without it"; }
	@$(VENV)/bin/pip install -q mitmproxy==11.0.2 || echo "mitmproxy could not be installed; the proxy benchmark runs without it"
	@sh Benchmarks/run.sh $(RELEASE_BIN) $(VENV)/bin/python $(WSBENCH)

# libFuzzer with AddressSanitizer on every parser that reads untrusted bytes, FUZZ_SECONDS each,
# seeded from Captures/ and the corpus kept in .build-fuzz/corpus; a crash stops with its input
# saved as .build-fuzz/crash-TARGET-*.
fuzz-self: deps
	$(SWIFT) build --package-path Tests/FuzzHarnesses -c release -Xswiftc -sanitize=fuzzer,address --scratch-path .build-fuzz
	@$(PYTHON) Tests/FuzzHarnesses/seeds.py .build-fuzz/seeds
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/corpus/$$t; echo "== $$t"; \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/FuzzHarnesses/lsan.supp SWIFT_BACKTRACE=enable=no FUZZ_TARGET=$$t $(FUZZ_BIN) .build-fuzz/corpus/$$t .build-fuzz/seeds/$$t -max_total_time=$(FUZZ_SECONDS) \
	    -rss_limit_mb=2048 -max_len=65536 -timeout=10 -print_final_stats=1 -artifact_prefix=.build-fuzz/crash-$$t- \
	    > .build-fuzz/$$t.log 2>&1; status=$$?; \
	  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|Test unit written)" .build-fuzz/$$t.log; \
	  [ $$status = 0 ] || { echo "$$t failed: see .build-fuzz/$$t.log"; exit 1; }; \
	done

clean:
	rm -rf .build .build-fuzz $(VENV)
