package region

import "testing"

func TestLookup(t *testing.T) {
	t.Parallel()
	r, err := Lookup("MyPureCloud.ie")
	if err != nil {
		t.Fatal(err)
	}
	if r.APIBaseURL() != "https://api.mypurecloud.ie" || r.TokenURL() != "https://login.mypurecloud.ie/oauth/token" {
		t.Errorf("%s %s", r.APIBaseURL(), r.TokenURL())
	}
	if len(Domains()) != 17 {
		t.Errorf("%d regions, want the 17 of DESIGN.md", len(Domains()))
	}
	if _, err := Lookup("example.com"); err == nil {
		t.Error("example.com accepted as a region")
	}
}
