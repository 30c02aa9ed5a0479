package audit

import "testing"

// TestPathTemplateHoldsNoValue: a path is written as the plugin's template
// when it matches, else with every segment that did not come from the
// config replaced; the plain-word segments an id-guessing rule kept (Z-9,
// ZZ, smith) never appear.
func TestPathTemplateHoldsNoValue(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		path, keep, template, want string
	}{
		"no template":                  {"/orders/Z-9", "", "", "/{}/{}"},
		"word-like values":             {"/orders/smith", "", "", "/{}/{}"},
		"base path kept":               {"/api/v2/orders/ZZ", "/api/v2", "", "/api/v2/{}/{}"},
		"trailing slash":               {"/api/v2/orders/", "/api/v2", "", "/api/v2/{}/"},
		"root":                         {"/", "", "", "/"},
		"template relative to base":    {"/api/v2/orders/Z-9", "/api/v2", "/orders/{id}", "/api/v2/orders/{id}"},
		"template of the whole path":   {"/api/v2/orders/Z-9", "/api/v2", "/api/v2/orders/{id}", "/api/v2/orders/{id}"},
		"template that does not match": {"/api/v2/customers/smith", "/api/v2", "/orders/{id}", "/api/v2/{}/{}"},
		"placeholder for nothing":      {"/orders/", "", "/orders/{id}", "/{}/"},
		"more segments than template":  {"/orders/1/2", "", "/orders/{id}", "/{}/{}/{}"},
		"keep not a prefix":            {"/other/x", "/api/v2", "", "/{}/{}"},
		"nested braces are literal":    {"/a/{{x}}", "", "/a/{{x}}", "/a/{{x}}"},
		"escaped segment":              {"/users/a%20b", "", "/users/{name}", "/users/{name}"},
	}
	for name, tc := range tests {
		if got := PathTemplate(tc.path, tc.keep, tc.template); got != tc.want {
			t.Errorf("%s: PathTemplate(%q, %q, %q) = %q, want %q", name, tc.path, tc.keep, tc.template, got, tc.want)
		}
	}
}
