# Switchboard. `make run` serves the example plugins on :8080 (development
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

.PHONY: all build run test race bench proto lint clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/switchboard ./host/cmd/switchboard
	@mkdir -p bin/plugins
	@for p in $(PLUGINS); do \
		echo "$(GO) build -o bin/plugins/$$p ./plugins/$$p"; \
		$(GO) build -ldflags '-s -w' -o bin/plugins/$$p ./plugins/$$p || exit 1; \
	done

run: build
	./bin/switchboard serve --dev --listen :8080 --plugin-dir ./bin/plugins

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./host/...
	$(GO) run ./host/internal/loadbench -plugin-dir ./bin/plugins

proto:
	@protoc --version 2>/dev/null | grep -qx 'libprotoc $(PROTOC_VERSION)' || \
		{ echo "make proto needs protoc $(PROTOC_VERSION): apt-get install protobuf-compiler"; exit 1; }
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH="$(TOOLS):$$PATH" protoc -I proto \
		--go_out=. --go_opt=module=github.com/switchboard-dev/switchboard \
		--go-grpc_out=. --go-grpc_opt=module=github.com/switchboard-dev/switchboard \
		proto/pluginv1/plugin.proto

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
