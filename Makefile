# pod-upgrade-trigger: `make demo` to try it, `make test` to test it.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
DOCDIR = $(PREFIX)/share/doc/podup
CARGO ?= cargo
RUN_STATE ?= $(CURDIR)/state
LISTEN ?= 127.0.0.1:8777

.PHONY: build demo run test fmt fmt-check lint verify-units typecheck browser-test install clean

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
# integration + browser + real tests.
test: fmt-check lint verify-units typecheck
	$(CARGO) test --locked --bin podup
	$(CARGO) test --locked --test integration
	$(MAKE) browser-test
	$(CARGO) test --locked --test real -- --test-threads=2

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

install: build
	install -Dm0755 target/release/podup $(DESTDIR)$(BINDIR)/podup
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
