# Switchboard. `make run` serves the example plugins on 127.0.0.1:8080 (development
# mode, no inbound auth); `make test` runs every test.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/switchboard-dev/switchboard/host/app.BuildVersion=$(VERSION)
PLUGINS  := $(notdir $(wildcard plugins/*))

# Generator versions for `make proto`, pinned so that the committed code is
# reproducible: protoc from Debian bookworm's protobuf-compiler package.
PROTOC_VERSION             := 3.21.12
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
TOOLS                      := $(CURDIR)/bin/tools

.PHONY: all build run test bench loadtest fuzz proto lint clean image deploy-check plugins-python

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/switchboard ./host/cmd/switchboard
	CGO_ENABLED=0 $(GO) build -ldflags '-s -w' -o bin/switchboard-sandbox ./host/cmd/switchboard-sandbox
	@mkdir -p bin/plugins
	@for p in $(PLUGINS); do \
		echo "$(GO) build -o bin/plugins/$$p ./plugins/$$p"; \
		$(GO) build -ldflags '-s -w' -o bin/plugins/$$p ./plugins/$$p || exit 1; \
	done

# The Python SDK's example plugin, one executable zipapp for Debian's
# python3 (python3-grpcio, python3-protobuf, python3-cryptography).
PYTHON ?= /usr/bin/python3
plugins-python:
	@rm -rf bin/plugins-python/.stage && mkdir -p bin/plugins-python/.stage
	cp -r sdk/python/switchboard sdk/python/examples/pyecho/__main__.py bin/plugins-python/.stage/
	find bin/plugins-python/.stage -name __pycache__ -prune -exec rm -rf {} +
	$(PYTHON) -m zipapp bin/plugins-python/.stage -p $(PYTHON) -o bin/plugins-python/pyecho
	@rm -rf bin/plugins-python/.stage

# The container image, without a container daemon: static binaries built
# reproducibly (no paths, no build ids, the commit as version), assembled by
# deploy/tools/image into bin/switchboard-image.tar (podman/docker load -i).
IMAGE_BIN := bin/image
image:
	@mkdir -p $(IMAGE_BIN)/plugins
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS) -buildid=' -o $(IMAGE_BIN)/switchboard ./host/cmd/switchboard
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -buildid=' -o $(IMAGE_BIN)/switchboard-sandbox ./host/cmd/switchboard-sandbox
	@for p in echo genesys-users; do \
		echo "CGO_ENABLED=0 $(GO) build -trimpath -o $(IMAGE_BIN)/plugins/$$p ./plugins/$$p"; \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -buildid=' -o $(IMAGE_BIN)/plugins/$$p ./plugins/$$p || exit 1; \
	done
	cd deploy/tools && $(GO) run ./image -bin ../../$(IMAGE_BIN) -out ../../bin/switchboard-image.tar -tag switchboard:$(VERSION)

# The Helm chart, offline (no cluster): helm lint and helm template, from
# helm's Go module, for the default values and deploy/helm/production-values.yaml
# on Kubernetes 1.35 (image volumes) and older (init-container copies); every
# object decoded strictly into its k8s.io/api type; the rendered config read
# by the host's parser; probes, security contexts, pins, mounts and the grace
# period checked. make test runs it too.
deploy-check:
	cd deploy/tools && $(GO) test -count=1 -v ./helm

run: build
	./bin/switchboard serve --dev --listen 127.0.0.1:8080 --plugin-dir ./bin/plugins

# The race detector sleeps 1 s as each test binary exits, to catch races
# that late goroutines might still report; at 40 test binaries that is most
# of the suite's idle time, and a race is reported when it happens.
test:
	$(GO) vet ./...
	GORACE=atexit_sleep_ms=100 $(GO) test -race -count=1 -timeout 15m ./...
	cd deploy/tools && $(GO) vet ./... && $(GO) test -count=1 ./...

# The peer, Benthos v4.60 (MIT core), is built from its own module
# (bench/benthos), never a dependency of this one; (t) and (p) do the same
# ticket work (host/internal/benchwork) in a plugin and in Benthos.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./host/...
	@mkdir -p bin/bench
	$(GO) build -o bin/bench/ticket ./host/internal/ticketplugin
	cd bench/benthos && $(GO) build -o ../../bin/bench/benthos .
	$(GO) run ./host/internal/loadbench -plugin-dir ./bin/plugins -benthos ./bin/bench/benthos -ticket-plugin ./bin/bench/ticket

# The load test of the README: vegeta on both actions, 32 connections, 30 s,
# with a plugin killed, a plugin replaced and Genesys Cloud failing meanwhile.
loadtest: build
	$(GO) run ./host/internal/loadtest -bin ./bin/switchboard -plugin-dir ./bin/plugins

# Every fuzz target for FUZZTIME each (CI runs them briefly; the README
# reports 10-minute runs).
FUZZTIME ?= 10s
FUZZ_TARGETS := FuzzPointer:./host/jsonptr FuzzApply:./host/mapping FuzzDecodeObject:./host/pipeline \
	FuzzRequest:./host/server FuzzParse:./host/config FuzzParseRender:./host/genesys/velocity \
	FuzzCompileEval:./host/genesys/jsonpath FuzzParse:./host/genesys/emulator FuzzResolve:./host/outbound
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; \
		echo "fuzz $$name $$pkg ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

proto:
	@protoc --version 2>/dev/null | grep -qx 'libprotoc $(PROTOC_VERSION)' || \
		{ echo "make proto needs protoc $(PROTOC_VERSION): apt-get install protobuf-compiler"; exit 1; }
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH="$(TOOLS):$$PATH" protoc -I proto \
		--go_out=. --go_opt=module=github.com/switchboard-dev/switchboard \
		--go-grpc_out=. --go-grpc_opt=module=github.com/switchboard-dev/switchboard \
		proto/pluginv1/plugin.proto
	protoc -I proto/pluginv1 --python_out=sdk/python/switchboard/_pb proto/pluginv1/plugin.proto
	protoc -I sdk/python/proto --python_out=sdk/python/switchboard/_pb sdk/python/proto/*.proto

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
