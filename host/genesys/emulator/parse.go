package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"golang.org/x/net/http/httpguts"

	"github.com/switchboard-dev/switchboard/host/genesys/jsonpath"
	"github.com/switchboard-dev/switchboard/host/genesys/velocity"
	"github.com/switchboard-dev/switchboard/sdk/contract"
)

// Defaults Genesys Cloud applies to a definition that leaves a field out.
const (
	DefaultTimeout         = 60 * time.Second
	DefaultRequestTemplate = "${input.rawRequest}"
	DefaultSuccessTemplate = "${rawResult}"
)

// Action types of a web services data action.
const (
	Custom     = "custom"     // an action a flow calls
	CustomAuth = "customAuth" // the auth action of a User Defined (OAuth) integration
)

// IntegrationType is the integration type of web services data actions, the
// only one the emulator runs.
const IntegrationType = "custom-rest-actions"

// Action is a parsed data action definition. It is immutable and safe for
// concurrent use.
type Action struct {
	Name        string
	ActionType  string // Custom or CustomAuth
	RequestType string // GET, PUT, POST, PATCH or DELETE
	Timeout     time.Duration
	Secure      bool

	url          *velocity.Template
	headers      []header // sorted by name
	body         *velocity.Template
	translations []translation // sorted by name
	success      *velocity.Template
	input        *jsonschema.Schema
	output       *jsonschema.Schema
}

type header struct {
	name string // as written in the definition
	tmpl *velocity.Template
}

type translation struct {
	name string
	path *jsonpath.Path
	def  *string // translationMapDefaults entry: JSON text, inserted as is
}

// definition is the JSON of a data action export.
type definition struct {
	Name            string `json:"name"`
	IntegrationType string `json:"integrationType"`
	ActionType      string `json:"actionType"`
	Config          struct {
		Request struct {
			RequestURLTemplate string            `json:"requestUrlTemplate"`
			RequestType        string            `json:"requestType"`
			Headers            map[string]string `json:"headers"`
			RequestTemplate    *string           `json:"requestTemplate"`
		} `json:"request"`
		Response struct {
			TranslationMap         map[string]string `json:"translationMap"`
			TranslationMapDefaults map[string]string `json:"translationMapDefaults"`
			SuccessTemplate        *string           `json:"successTemplate"`
		} `json:"response"`
		TimeoutSeconds *float64 `json:"timeoutSeconds"`
	} `json:"config"`
	Contract struct {
		Input struct {
			InputSchema json.RawMessage `json:"inputSchema"`
		} `json:"input"`
		Output struct {
			SuccessSchema json.RawMessage `json:"successSchema"`
		} `json:"output"`
	} `json:"contract"`
	Secure bool `json:"secure"`
}

// Parse parses a data action definition as Genesys Cloud exports it (and as
// export writes it), custom and customAuth actions alike. Every template,
// JSONPath and schema is compiled here, once. Other integration types
// (Genesys Cloud, function, Salesforce data actions) are refused with an
// error wrapping ErrUnsupported.
func Parse(definitionJSON []byte) (*Action, error) {
	var d definition
	dec := json.NewDecoder(bytes.NewReader(definitionJSON))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("parse data action: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse data action: more than one JSON value")
	}
	if d.IntegrationType != IntegrationType {
		return nil, fmt.Errorf("data action %q: %w: integrationType %q (only %q actions call a web service the emulator can reach)", d.Name, ErrUnsupported, d.IntegrationType, IntegrationType)
	}
	a := &Action{Name: d.Name, ActionType: d.ActionType, Secure: d.Secure, Timeout: DefaultTimeout}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	tmpl := func(name, src string) *velocity.Template {
		t, err := velocity.Parse(name, src)
		if err != nil {
			fail("%s: %w", name, err)
		}
		return t
	}

	if d.Name == "" {
		fail("name is empty")
	}
	if d.ActionType != Custom && d.ActionType != CustomAuth {
		fail("actionType %q: want %q or %q", d.ActionType, Custom, CustomAuth)
	}
	if t := d.Config.TimeoutSeconds; t != nil {
		if *t < 1 || *t > 60 || *t != float64(int(*t)) {
			fail("config.timeoutSeconds %v: want a whole number from 1 to 60", *t)
		} else {
			a.Timeout = time.Duration(*t) * time.Second
		}
	}

	req := d.Config.Request
	a.RequestType = req.RequestType
	switch req.RequestType {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete:
	default:
		fail("requestType %q: want GET, PUT, POST, PATCH or DELETE", req.RequestType)
	}
	if req.RequestURLTemplate == "" {
		fail("requestUrlTemplate is empty")
	}
	a.url = tmpl("requestUrlTemplate", req.RequestURLTemplate)
	names := slices.Sorted(maps.Keys(req.Headers))
	seen := make(map[string]string, len(names))
	for _, name := range names {
		if !httpguts.ValidHeaderFieldName(name) {
			fail("header %q: not a valid HTTP header name", name)
			continue
		}
		canon := http.CanonicalHeaderKey(name)
		if prev, ok := seen[canon]; ok {
			fail("headers %q and %q differ only in case", prev, name)
			continue
		}
		seen[canon] = name
		a.headers = append(a.headers, header{name, tmpl("header "+name, req.Headers[name])})
	}
	body := DefaultRequestTemplate
	if req.RequestTemplate != nil {
		body = *req.RequestTemplate
	}
	a.body = tmpl("requestTemplate", body)

	resp := d.Config.Response
	for _, name := range slices.Sorted(maps.Keys(resp.TranslationMap)) {
		p, err := jsonpath.Compile(resp.TranslationMap[name])
		if err != nil {
			fail("translationMap %q: %w", name, err)
			continue
		}
		tr := translation{name: name, path: p}
		if def, ok := resp.TranslationMapDefaults[name]; ok {
			tr.def = &def
		}
		a.translations = append(a.translations, tr)
	}
	success := DefaultSuccessTemplate
	if resp.SuccessTemplate != nil {
		success = *resp.SuccessTemplate
	}
	a.success = tmpl("successTemplate", success)

	var err error
	if a.input, err = contract.Compile(d.Contract.Input.InputSchema); err != nil {
		fail("contract.input.inputSchema: %w", err)
	}
	if a.output, err = contract.Compile(d.Contract.Output.SuccessSchema); err != nil {
		fail("contract.output.successSchema: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("data action %q: %w", d.Name, err)
	}
	return a, nil
}
