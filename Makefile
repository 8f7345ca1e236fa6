# rolloutd — the two commands: `make run` and `make test`.
# Both install what a fresh Debian machine is missing, build, and go.

SWIFT        ?= swift
CONFIG       ?= config/local.toml
APT_PACKAGES := libsqlite3-dev libssl-dev libcurl4-openssl-dev pkg-config socat util-linux golang-go systemd strace
PY_PACKAGES  := pytest jsonschema referencing boto3 "moto[server]" pyyaml prometheus_client
BUILD_FLAGS  ?=

.PHONY: run test build release deps deps-apt deps-pip test-swift test-python bench fuzz clean

run: deps build
	@mkdir -p .rollout/files .rollout/local
	@test -f .rollout/local/secrets.toml || printf '"demo/token" = "not-a-real-secret"\n' > .rollout/local/secrets.toml
	.build/debug/rolloutd --config $(CONFIG)

test: deps build
	$(MAKE) test-swift test-python

build:
	$(SWIFT) build $(BUILD_FLAGS)

release:
	$(SWIFT) build -c release $(BUILD_FLAGS)

test-swift:
	$(SWIFT) test $(BUILD_FLAGS)

test-python:
	python3 -m pytest -q tests

bench: deps
	$(SWIFT) build -c release --product rolloutd
	$(SWIFT) build -c release --product rollout-bench
	BIN_DIR=.build/release python3 bench/run_bench.py

# Coverage-guided fuzzing (libFuzzer, with AddressSanitizer) of the input path: line framer, JSON
# parser, envelope, owed answers (Sources/rollout-fuzz). Runs FUZZ_SECONDS from the committed seeds
# in Fuzz/corpus; new inputs go to .build-fuzz/corpus, a crashing input to .build-fuzz/crashes/
# (replay it with: swift build --product rollout-fuzz && .build/debug/rollout-fuzz FILE).
FUZZ_SECONDS ?= 60
fuzz:
	$(SWIFT) build -c release --scratch-path .build-fuzz --product rollout-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
	@mkdir -p .build-fuzz/corpus .build-fuzz/crashes
	.build-fuzz/release/rollout-fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
		-artifact_prefix=.build-fuzz/crashes/ .build-fuzz/corpus Fuzz/corpus

# Debian packages: only those not installed yet, so a ready machine does no apt work.
deps: deps-apt deps-pip

deps-apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

deps-pip:
	@python3 -c "import pytest, jsonschema, referencing, boto3, moto.server, yaml" 2>/dev/null || python3 -m pip install -q $(PY_PACKAGES)

clean:
	rm -rf .build .build-fuzz .rollout
