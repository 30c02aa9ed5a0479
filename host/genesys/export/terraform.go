package export

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Terraform variables the exported resources read.
const (
	IntegrationIDVariable = "integration_id"
	CategoryVariable      = "category"
)

// Terraform returns the action as Terraform for the Genesys Cloud provider
// (mypurecloud/genesyscloud): two variables, a genesyscloud_integration_action
// resource and, for AuthOAuth, a genesyscloud_integration_custom_auth_action
// that configures the integration's existing customAuth action. The file
// declares its variables: when several exports share a module, keep one copy
// of them (and of the custom auth resource).
func Terraform(a Action, o Options) ([]byte, error) {
	act, auth, err := build(a, o)
	if err != nil {
		return nil, err
	}
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	variable(body, IntegrationIDVariable, "ID of the Genesys Cloud web services data actions integration (custom-rest-actions) that calls Switchboard", "")
	body.AppendNewline()
	variable(body, CategoryVariable, "Category of the data actions in Genesys Cloud, usually the integration's name", "Switchboard")
	body.AppendNewline()

	r := body.AppendNewBlock("resource", []string{"genesyscloud_integration_action", label(a.Name)}).Body()
	r.SetAttributeValue("name", cty.StringVal(act.Name))
	r.SetAttributeTraversal("category", varRef(CategoryVariable))
	r.SetAttributeTraversal("integration_id", varRef(IntegrationIDVariable))
	r.SetAttributeValue("secure", cty.BoolVal(act.Secure))
	r.SetAttributeValue("config_timeout_seconds", cty.NumberIntVal(int64(act.Config.TimeoutSeconds)))
	r.SetAttributeRaw("contract_input", hclwrite.TokensForFunctionCall("jsonencode", tokens(act.Contract.Input.InputSchema)))
	r.SetAttributeRaw("contract_output", hclwrite.TokensForFunctionCall("jsonencode", tokens(act.Contract.Output.SuccessSchema)))
	requestBlock(r, act.Config.Request)
	responseBlock(r, act.Config.Response)

	if auth != nil {
		body.AppendNewline()
		ar := body.AppendNewBlock("resource", []string{"genesyscloud_integration_custom_auth_action", "switchboard_auth"}).Body()
		ar.SetAttributeTraversal("integration_id", varRef(IntegrationIDVariable))
		ar.SetAttributeValue("name", cty.StringVal(auth.Name))
		requestBlock(ar, auth.Config.Request)
		responseBlock(ar, auth.Config.Response)
	}
	return append([]byte(header(a.Name, o)), hclwrite.Format(f.Bytes())...), nil
}

// header is the comment that opens the file: what it is and which
// credentials the integration needs.
func header(name string, o Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Genesys Cloud data action for the Switchboard action %q,\n# written by `switchboard export genesys --format terraform`.\n", name)
	switch o.Auth {
	case AuthBasic:
		b.WriteString("# The integration's credential type is Basic Auth, with Switchboard's inbound\n# basic user name and password; Genesys sends the Authorization header itself.\n")
	case AuthAPIKey:
		fmt.Fprintf(&b, "# The integration's credential type is User Defined, with the field %q\n# holding one of Switchboard's inbound API keys (sent as %s).\n", APIKeyField, o.APIKeyHeader)
	case AuthOAuth:
		fmt.Fprintf(&b, "# The integration's credential type is User Defined (OAuth), with the fields\n# %q and %q holding Switchboard's inbound OAuth client.\n", ClientIDField, ClientSecretField)
	}
	b.WriteString("\n")
	return b.String()
}

func variable(body *hclwrite.Body, name, description, def string) {
	v := body.AppendNewBlock("variable", []string{name}).Body()
	v.SetAttributeValue("description", cty.StringVal(description))
	v.SetAttributeTraversal("type", hcl.Traversal{hcl.TraverseRoot{Name: "string"}})
	if def != "" {
		v.SetAttributeValue("default", cty.StringVal(def))
	}
}

func varRef(name string) hcl.Traversal {
	return hcl.Traversal{hcl.TraverseRoot{Name: "var"}, hcl.TraverseAttr{Name: name}}
}

func requestBlock(parent *hclwrite.Body, r request) {
	b := parent.AppendNewBlock("config_request", nil).Body()
	b.SetAttributeValue("request_url_template", cty.StringVal(r.RequestURLTemplate))
	b.SetAttributeValue("request_type", cty.StringVal(r.RequestType))
	b.SetAttributeValue("request_template", cty.StringVal(r.RequestTemplate))
	b.SetAttributeRaw("headers", stringMap(r.Headers))
}

func responseBlock(parent *hclwrite.Body, r response) {
	b := parent.AppendNewBlock("config_response", nil).Body()
	b.SetAttributeRaw("translation_map", stringMap(r.TranslationMap))
	b.SetAttributeRaw("translation_map_defaults", stringMap(r.TranslationMapDefaults))
	b.SetAttributeValue("success_template", cty.StringVal(r.SuccessTemplate))
}

// stringMap writes a map of strings with sorted, quoted keys. TokensForValue
// escapes "${" and "%{" in the values as "$${" and "%%{".
func stringMap(m map[string]string) hclwrite.Tokens {
	keys := slices.Sorted(maps.Keys(m))
	attrs := make([]hclwrite.ObjectAttrTokens, len(keys))
	for i, k := range keys {
		attrs[i] = hclwrite.ObjectAttrTokens{
			Name:  hclwrite.TokensForValue(cty.StringVal(k)),
			Value: hclwrite.TokensForValue(cty.StringVal(m[k])),
		}
	}
	return hclwrite.TokensForObject(attrs)
}

// tokens writes a JSON value as an HCL expression for jsonencode, object
// members in order.
func tokens(v any) hclwrite.Tokens {
	switch v := v.(type) {
	case object:
		attrs := make([]hclwrite.ObjectAttrTokens, len(v))
		for i, m := range v {
			attrs[i] = hclwrite.ObjectAttrTokens{Name: hclwrite.TokensForValue(cty.StringVal(m.key)), Value: tokens(m.value)}
		}
		return hclwrite.TokensForObject(attrs)
	case []any:
		elems := make([]hclwrite.Tokens, len(v))
		for i, e := range v {
			elems[i] = tokens(e)
		}
		return hclwrite.TokensForTuple(elems)
	case string:
		return hclwrite.TokensForValue(cty.StringVal(v))
	case json.Number:
		n, err := cty.ParseNumberVal(string(v))
		if err != nil { // JSON numbers always parse; keep the text if not
			return hclwrite.TokensForValue(cty.StringVal(string(v)))
		}
		return hclwrite.TokensForValue(n)
	case bool:
		return hclwrite.TokensForValue(cty.BoolVal(v))
	}
	return hclwrite.TokensForValue(cty.NullVal(cty.DynamicPseudoType))
}

// label makes a Terraform resource name from an action name: letters,
// digits, "_" and "-", starting with a letter or "_".
func label(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	s := b.String()
	if s == "" || s[0] >= '0' && s[0] <= '9' || s[0] == '-' {
		s = "_" + s
	}
	return s
}
