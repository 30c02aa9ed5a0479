package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/registry"
	"github.com/switchboard-dev/switchboard/sdk/contract"
)

// loadSpec is what loading one plugin needs of the config.
type loadSpec struct {
	process       ProcessOptions // Pin, sandbox, user and limits set for this plugin
	requirePinned bool
	grants        []string // nil: none, unless grantDeclared
	grantDeclared bool
	contract      string // config.ContractEnforce or config.ContractWarn
	overrides     map[string]registry.Overrides
	action        registry.Options
	logger        hclog.Logger
}

// load brings one verified binary up to where its actions can be served,
// in a fixed, strict sequence: start in its sandbox (pin, start, handshake,
// describe: Start), then the operator's connection grants, then each
// action's Genesys Cloud contract rules and its compiled schemas and
// mapping (registry.NewAction), whose invoker is inv. Claims to action
// names against other plugins are the supervisor's to settle. Any failure
// stops the process and reports its cleanup's failure beside the cause.
func load(ctx context.Context, v *Verified, spec loadSpec, inv registry.Invoker) (p *Process, actions []*registry.Action, err error) {
	if len(spec.process.Pins) == 0 && spec.requirePinned {
		return nil, nil, errors.New("refused: require_pinned_plugins is on and it has no pin; add the line `switchboard checksum` prints to the config")
	}
	if p, err = Start(ctx, v, spec.process); err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			if kerr := p.Kill(); kerr != nil {
				err = fmt.Errorf("%w; additionally, cleanup: %v", err, kerr)
			}
			p, actions = nil, nil
		}
	}()
	grants, err := grantsOf(p, spec)
	if err != nil {
		return p, nil, fmt.Errorf("refused: %w", err)
	}
	p.outbound.granted = grants
	ref := registry.Plugin{Name: p.bin.Name, Path: p.bin.Path, SHA256: p.bin.SHA256, PID: p.pid, Version: p.Version()}
	var errs []error
	for _, desc := range p.Actions() {
		if vs := contract.Check(desc.InputSchema, desc.OutputSchema); len(vs) > 0 {
			err := fmt.Errorf("action %q breaks Genesys Cloud's data action contract rules: %w", desc.Name, contract.Join(vs))
			if spec.contract != config.ContractWarn {
				errs = append(errs, err)
				continue
			}
			spec.logger.Warn("contract rules broken (contract_checks = warn)", "plugin", p.bin.Name, "error", err)
		}
		a, err := registry.NewAction(desc, ref, inv, spec.overrides[desc.Name], spec.action)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		actions = append(actions, a)
	}
	if err := errors.Join(errs...); err != nil {
		return p, nil, fmt.Errorf("refused: %w", err)
	}
	return p, actions, nil
}

// grantsOf are the connections the plugin's actions may call: those its
// config block grants. An action that declares a connection the config does
// not grant refuses the plugin. Under grantDeclared (development mode), a
// block that names no connections grants what the actions declare.
func grantsOf(p *Process, spec loadSpec) ([]string, error) {
	var declared []string
	for _, a := range p.Actions() {
		for _, conn := range a.Connections {
			if !slices.Contains(declared, conn) {
				declared = append(declared, conn)
			}
		}
	}
	if spec.grants == nil && spec.grantDeclared {
		if len(declared) > 0 {
			spec.logger.Warn("development mode: granting the plugin the connections it declares", "plugin", p.bin.Name, "connections", declared)
		}
		return declared, nil
	}
	var errs []error
	for _, a := range p.Actions() {
		for _, conn := range a.Connections {
			if !slices.Contains(spec.grants, conn) {
				errs = append(errs, fmt.Errorf("action %q uses connection %q, which the config does not grant plugin %q (add connections = [%q] to its plugin block)", a.Name, conn, p.bin.Name, conn))
			}
		}
	}
	return spec.grants, errors.Join(errs...)
}
