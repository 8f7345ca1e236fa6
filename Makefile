# rolloutd — `make run`, `make test` and `make install`.
# Each installs what a fresh Debian machine is missing for it (and nothing else), builds, and goes.
# The Swift toolchain (≥ 6.2) is a prerequisite: Debian does not package it (see the README).

SWIFT        ?= swift
CONFIG       ?= config/local.toml
BUILD_FLAGS  ?=
# Release binaries link the Swift runtime statically: only what rolloutd uses is linked, and idle
# RSS drops from 39 to 35 MiB (measured with make bench; see bench/README.md). rolloutd uses no
# Foundation (28.5 MiB), loads libcurl only for the AWS provider (24.6 MiB), parses TOML itself
# (21.3 MiB), and is linked by lld with packed relative relocations (DT_RELR, glibc >= 2.36: the
# loader no longer reads 1.5 MB of relocation records at startup; gold, swiftc's default, cannot
# pack them; GNU ld can, but made .rodata writable and dropped RELRO for this binary): 20.7 MiB.
# libcrypto loaded at the first digest, the heap scavenger and a hand-parsed command line (no
# ArgumentParser in rolloutd) bring it to 18.4-19.0 MiB, and 19.1-19.6 in make bench after its load.
RELEASE_FLAGS ?= --static-swift-stdlib -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs
SINK         := .build/bench/s3-sink
ECHO_C       := .build/bench/echo-server

# Debian packages that building and running need: Package.swift's system libraries (OpenSSL's
# libcrypto, libcurl, SQLite, found with pkg-config).
RUN_APT  := libsqlite3-dev libssl-dev libcurl4-openssl-dev pkg-config
# What the tests add: socat (wire vectors, the README example), util-linux (setpriv), Go (the Go
# client), systemd (systemd-analyze, socket activation), strace (the sandbox check), man-db (the
# installed man pages render), gcc (the upload benchmark's S3 sink, built and tested by make test).
TEST_APT := socat util-linux golang-go systemd strace man-db gcc

# The test tools go into a project virtual environment, so that a stock Debian python3 (PEP 668,
# "externally managed") works. --system-site-packages reuses whatever the machine already has;
# pip installs only what is missing. Each entry is pip-requirement:top-level-modules-it-provides.
PYTHON   ?= python3
VENV     ?= .venv
VENV_PY  := $(VENV)/bin/python
TEST_PY  := pytest:pytest jsonschema:jsonschema referencing:referencing boto3:boto3 \
            moto[server]:moto,flask,flask_cors pyyaml:yaml prometheus-client:prometheus_client flit-core:flit_core

# make install: PREFIX (default /usr/local) and DESTDIR as usual. CONFIGURATION=debug installs the
# debug build instead of building release (the install test reuses `make test`'s build that way).
PREFIX        ?= /usr/local
DESTDIR       ?=
CONFIGURATION ?= release
INSTALL       ?= install
BINDIR        := $(DESTDIR)$(PREFIX)/bin
SHAREDIR      := $(DESTDIR)$(PREFIX)/share
MANDIR        := $(SHAREDIR)/man
STAGE         := .build/install-$(CONFIGURATION)

.PHONY: run test build release install uninstall manuals deps deps-run deps-test deps-apt deps-pip venv \
        check-swift test-swift test-python bench fuzz clean

run: deps-run build
	@mkdir -p .rollout/files .rollout/local
	@test -f .rollout/local/secrets.toml || printf '"demo/token" = "not-a-real-secret"\n' > .rollout/local/secrets.toml
	.build/debug/rolloutd --config $(CONFIG)

# The Python tests start subprocesses with sys.executable and `python3`: both are the venv's.
test: deps-test build
	$(MAKE) test-swift test-python

build: check-swift
	$(SWIFT) build $(BUILD_FLAGS)

release: check-swift
	$(SWIFT) build -c release $(RELEASE_FLAGS) $(BUILD_FLAGS)

test-swift:
	$(SWIFT) test $(BUILD_FLAGS)

test-python: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV_PY) -m pytest -q tests

# Environment knobs (bench/README.md): UPLOAD_RUNS, FASTSINK=0, UPLOAD_SIZE_MIB, FASTSINK_PACE_MBPS, FASTSINK_MODES,
# SOAK_SECONDS (0 skips the soak), SOAK_METHOD_SECONDS, SOAK_PROVIDERS.
bench: deps sink $(ECHO_C)
	$(SWIFT) build -c release $(RELEASE_FLAGS) --product rolloutd
	$(SWIFT) build -c release $(RELEASE_FLAGS) --product rollout-bench
	BIN_DIR=.build/release SINK=$(SINK) ECHO_C=$(ECHO_C) $(VENV_PY) bench/run_bench.py

# The upload benchmark's S3 sink (bench/s3_sink.c), plain C over libcrypto.
.PHONY: sink
sink: $(SINK)

$(SINK): bench/s3_sink.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -pthread -o $@ bench/s3_sink.c -lcrypto

# The idle-memory floor beside rolloutd: a C thread-per-connection NDJSON server.
$(ECHO_C): bench/echo_server.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -pthread -o $@ bench/echo_server.c

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

# Both binaries, shell completions (from swift-argument-parser's --generate-completion-script) and
# the man pages rolloutctl(1) and rolloutd(8) (swift-argument-parser's generate-manual plugin, run on
# the built tools, so the pages always list the commands and options the binaries have).
install: deps-run check-swift manuals
	$(INSTALL) -d $(BINDIR) $(SHAREDIR)/bash-completion/completions $(SHAREDIR)/zsh/site-functions \
		$(SHAREDIR)/fish/vendor_completions.d $(MANDIR)/man1 $(MANDIR)/man8
	$(INSTALL) -m 0755 .build/$(CONFIGURATION)/rolloutd .build/$(CONFIGURATION)/rolloutctl $(BINDIR)/
	$(INSTALL) -m 0644 $(STAGE)/rolloutctl.bash $(SHAREDIR)/bash-completion/completions/rolloutctl
	$(INSTALL) -m 0644 $(STAGE)/_rolloutctl $(SHAREDIR)/zsh/site-functions/_rolloutctl
	$(INSTALL) -m 0644 $(STAGE)/rolloutctl.fish $(SHAREDIR)/fish/vendor_completions.d/rolloutctl.fish
	$(INSTALL) -m 0644 $(STAGE)/rolloutctl.1 $(MANDIR)/man1/rolloutctl.1
	$(INSTALL) -m 0644 $(STAGE)/rolloutd.8 $(MANDIR)/man8/rolloutd.8

# The plugin builds every product in CONFIGURATION (nothing to do after `swift build` for debug, or
# the release build that install needs anyway), then writes one page per tool into its work
# directory; it runs once per manual section. The page's date is the last commit's. MAN_FIX turns
# the blank lines of multi-paragraph help into .Pp (mdoc warns on blank lines) and adds SEE ALSO.
MAN_DATE = $(shell git log -1 --format=%cs 2>/dev/null || date +%F)
MAN_OUT  := .build/plugins/GenerateManual/outputs
MAN_FIX   = awk '{ print ($$0 == "" ? ".Pp" : $$0) } END { print ".Sh \"SEE ALSO\""; print ".Xr $(1) $(2)" }'
manuals: check-swift
	$(SWIFT) build -c $(CONFIGURATION) $(BUILD_FLAGS)
	@mkdir -p $(STAGE)
	$(SWIFT) package plugin generate-manual --configuration $(CONFIGURATION) --date $(MAN_DATE) >$(STAGE)/manual.log
	$(call MAN_FIX,rolloutd,8) $(MAN_OUT)/rolloutctl/rolloutctl.1 >$(STAGE)/rolloutctl.1
	@# rolloutd parses its own command line (no ArgumentParser), so the plugin skips it; the plugin's
	@# tool, which it has just built, reads rolloutd's --experimental-dump-help like any other tool's.
	@rm -rf $(STAGE)/rolloutd-page && mkdir -p $(STAGE)/rolloutd-page
	"$$(find .build -name generate-manual-tool -type f -perm -u+x | head -1)" .build/$(CONFIGURATION)/rolloutd \
		--date $(MAN_DATE) --section 8 --output-directory $(STAGE)/rolloutd-page
	$(call MAN_FIX,rolloutctl,1) $(STAGE)/rolloutd-page/rolloutd.8 >$(STAGE)/rolloutd.8
	.build/$(CONFIGURATION)/rolloutctl --generate-completion-script bash >$(STAGE)/rolloutctl.bash
	.build/$(CONFIGURATION)/rolloutctl --generate-completion-script zsh >$(STAGE)/_rolloutctl
	.build/$(CONFIGURATION)/rolloutctl --generate-completion-script fish >$(STAGE)/rolloutctl.fish

uninstall:
	rm -f $(BINDIR)/rolloutd $(BINDIR)/rolloutctl $(SHAREDIR)/bash-completion/completions/rolloutctl \
		$(SHAREDIR)/zsh/site-functions/_rolloutctl $(SHAREDIR)/fish/vendor_completions.d/rolloutctl.fish \
		$(MANDIR)/man1/rolloutctl.1 $(MANDIR)/man8/rolloutd.8

# The toolchain is not a Debian package: say what is needed instead of failing on `swift: not found`.
check-swift:
	@v=$$($(SWIFT) --version 2>/dev/null | sed -n 's/.*Swift version \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' | head -n 1); \
	set -- $$v; \
	if [ -z "$$v" ] || [ "$$1" -lt 6 ] || { [ "$$1" -eq 6 ] && [ "$$2" -lt 2 ]; }; then \
		found=$${v:+$$1.$$2}; \
		echo "rolloutd needs the Swift toolchain 6.2 or newer (found: $${found:-none}, running '$(SWIFT)')." >&2; \
		echo "Install it as the README's 'Prerequisites' says (swiftly or the swift.org tarball) and put its usr/bin on PATH." >&2; \
		exit 1; \
	fi

# deps: everything (what `make test` and `make bench` need); deps-run: what building and running need.
deps: deps-test
deps-run:
	@$(MAKE) --no-print-directory deps-apt PACKAGES="$(RUN_APT)"
deps-test:
	@$(MAKE) --no-print-directory deps-apt PACKAGES="$(RUN_APT) $(TEST_APT)"
	@$(MAKE) --no-print-directory deps-pip

# Debian packages: only those not installed yet, so a ready machine does no apt work.
deps-apt:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# The venv. Debian's python3 lacks the venv module (and ensurepip) until python3-venv is installed.
venv: $(VENV_PY)
$(VENV_PY):
	@$(PYTHON) -m venv --system-site-packages $(VENV) >/dev/null 2>&1 || { \
		rm -rf $(VENV); \
		$(MAKE) --no-print-directory deps-apt PACKAGES=python3-venv; \
		$(PYTHON) -m venv --system-site-packages $(VENV); \
	}

# Python packages: only those whose modules the venv cannot find (found without importing them).
deps-pip: venv
	@set -f; missing=$$($(VENV_PY) -c "import importlib.util as u, sys; \
		print(' '.join(r for r, _, ms in (e.partition(':') for e in sys.argv[1:]) \
		               if any(u.find_spec(m) is None for m in ms.split(','))))" $(TEST_PY)) || exit 1; \
	if [ -n "$$missing" ]; then \
		echo "installing into $(VENV): $$missing"; \
		$(VENV_PY) -m pip install -q --disable-pip-version-check $$missing; \
	fi

clean:
	rm -rf .build .build-fuzz .rollout
