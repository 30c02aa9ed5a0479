package sim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/switchboard-dev/switchboard/host/genesys/sim"
)

func Example() {
	s := sim.New(sim.Options{})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	// The token request golang.org/x/oauth2/clientcredentials would send.
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(s.ClientID()), url.QueryEscape(s.ClientSecret()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	var tok sim.TokenResponse
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	// The next user lookup is rate limited.
	_ = s.AddFault(sim.Fault{Path: "/api/v2/users", Status: http.StatusTooManyRequests, RetryAfter: "1"})
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v2/users/"+sim.AgentUserID, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		var user sim.User
		_ = json.NewDecoder(resp.Body).Decode(&user)
		resp.Body.Close()
		fmt.Printf("%d Retry-After=%q name=%q\n", resp.StatusCode, resp.Header.Get("Retry-After"), user.Name)
	}
	fmt.Println(s.Stats().APIByStatus)
	// Output:
	// 429 Retry-After="1" name=""
	// 200 Retry-After="" name="Aoife Byrne"
	// map[200:1 429:1]
}
