// Package region knows the Genesys Cloud regions: the domain an organization
// lives in, from which its API and login hosts follow.
package region

import (
	"fmt"
	"slices"
	"strings"
)

// Domains are the Genesys Cloud region domains.
var domains = []string{
	"mypurecloud.com", "use2.us-gov-pure.cloud", "usw2.pure.cloud", "mypurecloud.ie", "euw2.pure.cloud",
	"mypurecloud.de", "euc2.pure.cloud", "mypurecloud.com.au", "mypurecloud.jp", "apne2.pure.cloud",
	"apne3.pure.cloud", "aps1.pure.cloud", "apse1.pure.cloud", "cac1.pure.cloud", "sae1.pure.cloud",
	"mec1.pure.cloud", "mxc1.pure.cloud",
}

// Domains returns every region domain.
func Domains() []string { return slices.Clone(domains) }

// Region is one Genesys Cloud region.
type Region struct {
	Domain string // e.g. "mypurecloud.ie"
}

// Lookup returns the region of a domain such as "mypurecloud.ie".
func Lookup(domain string) (Region, error) {
	d := strings.ToLower(strings.TrimSpace(domain))
	if !slices.Contains(domains, d) {
		return Region{}, fmt.Errorf("%q is not a Genesys Cloud region; use one of %s", domain, strings.Join(domains, ", "))
	}
	return Region{Domain: d}, nil
}

// APIBaseURL is the platform API, e.g. https://api.mypurecloud.ie.
func (r Region) APIBaseURL() string { return "https://api." + r.Domain }

// TokenURL is the OAuth token endpoint, e.g. https://login.mypurecloud.ie/oauth/token.
func (r Region) TokenURL() string { return "https://login." + r.Domain + "/oauth/token" }
