// Package telemetry sets up OpenTelemetry tracing for the host: off unless
// the config has a tracing block, then exporting over OTLP/gRPC. Spans are
// made for each inbound request, each plugin invocation and each outbound
// attempt; W3C trace context is read from callers and sent on to plugins
// (metadata "traceparent") and to downstream APIs.
package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/host/config"
)

// TracerName names the host's tracer.
const TracerName = "github.com/switchboard-dev/switchboard/host"

// Tracing is the host's tracer and how to flush it.
type Tracing struct {
	// Tracer is nil when tracing is off.
	Tracer trace.Tracer
	// Flush exports the spans that ended so far.
	Flush func(context.Context) error
	// Shutdown flushes and stops the exporter.
	Shutdown func(context.Context) error
}

// New starts tracing as the config asks; with no tracing block it returns
// a nil Tracer and a no-op Shutdown.
func New(cfg *config.Tracing, version string) (*Tracing, error) {
	if cfg == nil {
		nop := func(context.Context) error { return nil }
		return &Tracing{Flush: nop, Shutdown: nop}, nil
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(cfg.Endpoint)}
	if cfg.Insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	return FromExporter(exp, cfg.SampleRatio, cfg.ServiceName, version), nil
}

// FromExporter traces to any span exporter (tests use an in-memory one).
func FromExporter(exp sdktrace.SpanExporter, ratio float64, service, version string) *Tracing {
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service), semconv.ServiceVersion(version))),
	)
	return &Tracing{Tracer: tp.Tracer(TracerName), Flush: tp.ForceFlush, Shutdown: tp.Shutdown}
}
