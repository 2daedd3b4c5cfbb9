# pod-upgrade-trigger: `make demo` to try it, `make test` to test it.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
DOCDIR = $(PREFIX)/share/doc/podup
MANDIR = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d
CARGO ?= cargo
RUN_STATE ?= $(CURDIR)/state
LISTEN ?= 127.0.0.1:8777

.PHONY: build demo run test setup fmt fmt-check lint verify-units typecheck browser-test fuzz install clean man completions

build:
	$(CARGO) build --release --locked

# The panel on $(LISTEN) over a simulated host, with a fresh ./state-demo/podup.db.
demo:
	$(CARGO) build --locked
	./target/debug/podup demo --listen $(LISTEN)

# Serve on $(LISTEN) with the state database in ./state (no systemd needed).
run:
	$(CARGO) build --locked
	PODUP_STATE_DIR=$(RUN_STATE) ./target/debug/podup serve --listen $(LISTEN)

# Everything CI runs: formatting, lints, units, the panel's types, unit +
# integration + browser + real tests (on the bookworm bed, then the trixie bed). tests/setup.sh first installs what is
# missing (tests/packages.txt and `npm ci`) when run as root.
test:
	tests/setup.sh
	$(MAKE) fmt-check lint verify-units typecheck
	$(CARGO) test --locked --lib
	$(CARGO) test --locked --test integration
	$(MAKE) browser-test
	$(CARGO) test --locked --test real -- --test-threads=2 --skip flood:: ::bookworm
	$(CARGO) test --locked --test real -- --test-threads=2 --skip flood:: ::trixie
	$(CARGO) test --locked --test real flood:: -- --test-threads=1

# Installs what the tests need and is missing (root only; otherwise says what).
setup:
	tests/setup.sh

# The panel's JavaScript against its JSDoc types (needs `npm ci`).
typecheck:
	tests/browser/run.sh typecheck

# Debian's chromium, driven by playwright-core, against `podup demo`; screenshots
# of every page land in target/screenshots/.
browser-test:
	$(CARGO) build --locked
	tests/browser/run.sh browser

fmt:
	$(CARGO) fmt

fmt-check:
	$(CARGO) fmt --check

lint:
	$(CARGO) clippy --locked --all-targets -- -D warnings

# systemd-analyze checks the units as shipped; ExecStart= points at the built
# binary in a scratch copy because verify insists that it exists.
verify-units:
	$(CARGO) build --locked
	tests/verify-units.sh $(CURDIR)/target/debug/podup

# Each fuzz target for FUZZ_SECS seconds (docs/fuzzing.md); installs cargo-fuzz if missing.
FUZZ_SECS ?= 60
fuzz:
	CARGO=$(CARGO) FUZZ_SECS=$(FUZZ_SECS) fuzz/run.sh

# Man pages: docs/man/*.scd through scdoc (Debian's scdoc), dated by the last commit
# (SOURCE_DATE_EPOCH) and gzipped without a name or time stamp (-n), so one commit
# gives the same bytes wherever it is built.
MAN_PAGES = target/man/podup.1.gz target/man/podup.env.5.gz
man: $(MAN_PAGES)
target/man/%.gz: docs/man/%.scd
	@mkdir -p target/man
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) scdoc < $< > target/man/$*
	gzip -9nf target/man/$*

# Shell completions, printed by `podup completions SHELL` from the command table
# (src/cli/spec.rs), so they cannot drift from the parsers.
COMPLETIONS = target/completions/podup.bash target/completions/_podup target/completions/podup.fish
completions: build
	@mkdir -p target/completions
	target/release/podup completions bash > target/completions/podup.bash
	target/release/podup completions zsh > target/completions/_podup
	target/release/podup completions fish > target/completions/podup.fish

install: build man completions
	install -Dm0755 target/release/podup $(DESTDIR)$(BINDIR)/podup
	install -Dm0644 target/man/podup.1.gz $(DESTDIR)$(MANDIR)/man1/podup.1.gz
	install -Dm0644 target/man/podup.env.5.gz $(DESTDIR)$(MANDIR)/man5/podup.env.5.gz
	install -Dm0644 target/completions/podup.bash $(DESTDIR)$(BASHCOMPDIR)/podup
	install -Dm0644 target/completions/_podup $(DESTDIR)$(ZSHCOMPDIR)/_podup
	install -Dm0644 target/completions/podup.fish $(DESTDIR)$(FISHCOMPDIR)/podup.fish
	for u in units/*.socket units/*.service units/*.timer; do \
	  sed 's|/usr/local/bin/podup|$(BINDIR)/podup|; s|/usr/local/share/doc/podup|$(DOCDIR)|' $$u > $$u.tmp && \
	  install -Dm0644 $$u.tmp $(DESTDIR)$(UNITDIR)/$$(basename $$u) && rm $$u.tmp; done
	for u in units/user/*.socket units/user/*.service units/user/*.timer; do \
	  sed 's|/usr/local/share/doc/podup|$(DOCDIR)|' $$u > $$u.tmp && \
	  install -Dm0644 $$u.tmp $(DESTDIR)$(USERUNITDIR)/$$(basename $$u) && rm $$u.tmp; done
	install -Dm0644 env/podup.env.example $(DESTDIR)$(DOCDIR)/podup.env.example
	install -Dm0644 README.md $(DESTDIR)$(DOCDIR)/README.md

clean:
	$(CARGO) clean

# Reproducible release: the same commit gives the same bytes wherever it is built.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
TARGET := $(shell rustc -vV | sed -n 's/^host: //p')
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
RELEASE_ENV = SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
	PODUP_BUILD_COMMIT=$(shell git rev-parse HEAD 2>/dev/null || echo unknown) \
	PODUP_BUILD_DATE=$(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%d) \
	RUSTFLAGS="--remap-path-prefix=$(CURDIR)=/build --remap-path-prefix=$(CARGO_HOME_DIR)=/cargo -C link-arg=-Wl,--build-id=none" \
	CFLAGS="-ffile-prefix-map=$(CURDIR)=/build -ffile-prefix-map=$(CARGO_HOME_DIR)=/cargo" \
	CARGO_TARGET_DIR=$(CURDIR)/target/release-build
CARGO_HOME_DIR ?= $(or $(CARGO_HOME),$(HOME)/.cargo)
DIST = dist/pod-upgrade-trigger-$(VERSION)-$(TARGET)

.PHONY: release release-bin reproducible-check package-stage deb rpm cargo-deb cargo-generate-rpm
release: release-bin deb rpm
	install -Dm0755 target/release-build/release/podup bin/podup
	rm -rf $(DIST) && mkdir -p $(DIST)
	cp -r bin units env docs README.md $(DIST)/
	cd $(DIST) && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | xargs sha256sum > SHA256SUMS
	tar --sort=name --mtime=@$(SOURCE_DATE_EPOCH) --owner=0 --group=0 --numeric-owner \
	  -C dist -czf $(DIST).tar.gz $(notdir $(DIST))
	cd dist && sha256sum $(notdir $(DIST).tar.gz $(DEB) $(RPM)) > SHA256SUMS
	@sha256sum bin/podup $(DIST).tar.gz $(DEB) $(RPM)

# The release binary alone (what `release`, `deb` and `rpm` share; cargo does nothing
# when it is up to date).
release-bin:
	$(RELEASE_ENV) $(CARGO) build --release --locked

# Packages (docs/release.md): the release binary, the units with their paths as
# installed (/usr/bin, /usr/share/doc/podup; the user units too run /usr/bin/podup),
# the environment file as a conffile, docs, man pages, completions. Both file lists are
# in Cargo.toml; the tools are installed at a pinned version when missing.
CARGO_DEB_VERSION = 3.8.0
CARGO_GENERATE_RPM_VERSION = 0.21.1
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
RPM_ARCH := $(firstword $(subst -, ,$(TARGET)))
DEB = dist/podup_$(VERSION)-1_$(DEB_ARCH).deb
RPM = dist/podup-$(VERSION)-1.$(RPM_ARCH).rpm
PKG_STAGE = target/package

package-stage: release-bin
	$(MAKE) -s -B man
	rm -rf $(PKG_STAGE) && mkdir -p $(PKG_STAGE)/system $(PKG_STAGE)/user $(PKG_STAGE)/doc $(PKG_STAGE)/man $(PKG_STAGE)/completions
	install -m0755 target/release-build/release/podup $(PKG_STAGE)/podup
	for u in units/*.socket units/*.service units/*.timer; do \
	  sed 's|/usr/local/bin/podup|/usr/bin/podup|; s|/usr/local/share/doc/podup|/usr/share/doc/podup|' \
	    $$u > $(PKG_STAGE)/system/$$(basename $$u); done
	for u in units/user/*.socket units/user/*.service units/user/*.timer; do \
	  sed 's|%h/.local/bin/podup|/usr/bin/podup|; s|/usr/local/share/doc/podup|/usr/share/doc/podup|' \
	    $$u > $(PKG_STAGE)/user/$$(basename $$u); done
	cp env/podup.env.example $(PKG_STAGE)/podup.env
	cp README.md docs/*.md $(PKG_STAGE)/doc/
	cp $(MAN_PAGES) $(PKG_STAGE)/man/
	# what `make completions` writes, from this release binary (that target builds another)
	$(PKG_STAGE)/podup completions bash > $(PKG_STAGE)/completions/podup.bash
	$(PKG_STAGE)/podup completions zsh > $(PKG_STAGE)/completions/_podup
	$(PKG_STAGE)/podup completions fish > $(PKG_STAGE)/completions/podup.fish
	# every file dated by the commit: the rpm keeps a file's mtime when it is older
	# than SOURCE_DATE_EPOCH, so a long-lived checkout would otherwise differ
	find $(PKG_STAGE) -exec touch -h -d @$(SOURCE_DATE_EPOCH) {} +

deb: package-stage cargo-deb
	mkdir -p dist
	$(RELEASE_ENV) $(CARGO) deb --locked --no-build --no-strip --quiet --output $(DEB)
	@echo $(DEB)

rpm: package-stage cargo-generate-rpm
	mkdir -p dist
	$(RELEASE_ENV) $(CARGO) generate-rpm --auto-req no --output $(RPM)
	@echo $(RPM)

cargo-deb:
	@$(CARGO) deb --version 2>/dev/null | grep -qx 'cargo-deb $(CARGO_DEB_VERSION)' || \
	  $(CARGO) install --locked cargo-deb --version $(CARGO_DEB_VERSION)

cargo-generate-rpm:
	@$(CARGO) generate-rpm --version 2>/dev/null | grep -qx 'cargo-generate-rpm $(CARGO_GENERATE_RPM_VERSION)' || \
	  $(CARGO) install --locked cargo-generate-rpm --version $(CARGO_GENERATE_RPM_VERSION)

# Builds the current commit twice, in two fresh clones in different directories,
# and compares the binaries, the .deb and the .rpm byte for byte.
reproducible-check:
	tests/reproducible.sh

# Benchmarks beside adnanh/webhook (never in timed tests): target/bench/latest.md.
.PHONY: bench
bench:
	$(CARGO) build --release --locked
	command -v wrk >/dev/null && command -v webhook >/dev/null && command -v curl >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk webhook curl; }
	tests/bench/bench.py
