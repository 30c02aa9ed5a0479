package config

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/switchboard-dev/switchboard/host/jsonptr"
	"github.com/switchboard-dev/switchboard/host/mapping"
)

// Action is the config's changes to one action.
type Action struct {
	Timeout time.Duration  // 0: the plugin's, else DefaultActionTimeout
	Mapping []mapping.Rule // nil: the plugin's
	// AuditHMAC are JSON pointers of input fields written to the audit log
	// as HMAC-SHA256 digests (needs Audit.HMACKey).
	AuditHMAC []string
	// ErrorsAsData answers failures with 200 and {"ok": false, "status",
	// "code", "message", "retryable"}, successes with "ok": true, for flows
	// that cannot read failure outputs (errors = "data").
	ErrorsAsData bool
	// Cache, when set, caches the action's successful outputs.
	Cache *ActionCache
}

type actionBlock struct {
	Name            string               `hcl:"name,label"`
	Timeout         durationAttr         `hcl:"timeout,optional"`
	TimeoutRange    hcl.Range            `hcl:"timeout,attr_range"`
	Mapping         map[string]string    `hcl:"mapping,optional"`
	MappingDefaults map[string]cty.Value `hcl:"mapping_defaults,optional"`
	AuditHMAC       []string             `hcl:"audit_hmac,optional"`
	Errors          *string              `hcl:"errors,optional"`
	Cache           *actionCache         `hcl:"cache,block"`
	Range           hcl.Range            `hcl:",def_range"`
}

// action checks one action block; haveHMACKey says whether the audit block
// has the hmac_key that audit_hmac needs.
func (a *actionBlock) action(haveHMACKey bool) (Action, error) {
	var errs []error
	act := Action{AuditHMAC: a.AuditHMAC}
	if a.Errors != nil {
		switch *a.Errors {
		case "data":
			act.ErrorsAsData = true
		case "status":
		default:
			errs = append(errs, errAt(a.Range, "action %q: errors %q: use \"status\" (failures answer their HTTP status) or \"data\" (200 with ok:false)", a.Name, *a.Errors))
		}
	}
	if len(a.AuditHMAC) > 0 && !haveHMACKey {
		errs = append(errs, errAt(a.Range, "action %q: audit_hmac needs audit { hmac_key = ... }", a.Name))
	}
	for _, p := range a.AuditHMAC {
		if _, err := jsonptr.Parse(p); err != nil {
			errs = append(errs, errAt(a.Range, "action %q: audit_hmac %q: %v", a.Name, p, err))
		}
	}
	var err error
	if act.Cache, err = a.Cache.cache(a.Name); err != nil {
		errs = append(errs, err)
	}
	if err := parseDuration(&act.Timeout, a.Timeout, "timeout", time.Second, MaxActionTimeout); err != nil {
		errs = append(errs, errAt(a.TimeoutRange, "action %q: %v", a.Name, err))
	}
	for target, source := range a.Mapping {
		act.Mapping = append(act.Mapping, mapping.Rule{Target: target, Source: source})
	}
	for target, v := range a.MappingDefaults {
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			errs = append(errs, errAt(a.Range, "action %q: mapping default of %q: %v", a.Name, target, err))
			continue
		}
		found := false
		for i := range act.Mapping {
			if act.Mapping[i].Target == target {
				act.Mapping[i].Default, found = b, true
			}
		}
		if !found {
			errs = append(errs, errAt(a.Range, "action %q: mapping_defaults names %q, which mapping does not map", a.Name, target))
		}
	}
	// Parents before children, and never in map order.
	slices.SortFunc(act.Mapping, func(a, b mapping.Rule) int { return strings.Compare(a.Target, b.Target) })
	if _, err := mapping.Compile(act.Mapping); err != nil {
		errs = append(errs, errAt(a.Range, "action %q: %v", a.Name, err))
	}
	if err := errors.Join(errs...); err != nil {
		return Action{}, err
	}
	return act, nil
}
