// Command genesys-users serves fetchUserProfile: it looks a user up in
// Genesys Cloud (GET /api/v2/users/{userId}) through the host's "genesys"
// connection. The plugin holds no credential; the host adds the OAuth token.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/switchboard-dev/switchboard/sdk"
)

// user is the part of Genesys Cloud's User object the action returns.
type user struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

func main() {
	if err := sdk.Serve(
		sdk.NewAction("fetchUserProfile").
			Description("Look up a Genesys Cloud user by id").
			Version("1.0.0").
			Input(`{
				"type": "object",
				"properties": {"userId": {"type": "string", "minLength": 1, "description": "Genesys Cloud user id"}},
				"required": ["userId"]
			}`).
			Output(`{
				"type": "object",
				"properties": {
					"id": {"type": "string"},
					"name": {"type": "string"},
					"email": {"type": "string"}
				},
				"required": ["id", "name"]
			}`).
			Uses("genesys").
			Timeout(8 * time.Second).
			Handle(fetchUserProfile),
	); err != nil {
		fmt.Fprintln(os.Stderr, "genesys-users:", err)
		os.Exit(1)
	}
}

func fetchUserProfile(ctx context.Context, req *sdk.Request) (any, error) {
	var in struct {
		UserID string `json:"userId"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	genesys := req.HTTP("genesys")
	// A path template: the host's audit log records /api/v2/users/{userId}.
	hr, err := genesys.NewRequest(ctx, http.MethodGet, "/api/v2/users/{userId}", nil, in.UserID)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Accept", "application/json")
	resp, err := genesys.Do(hr)
	if err != nil {
		return nil, err // the host's typed error (timeout, circuit open, ...) passes through
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		var u user
		if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
			return nil, sdk.Errorf(502, "genesys_bad_response", "Genesys Cloud answered with a user that cannot be read")
		}
		return u, nil
	case resp.StatusCode == http.StatusNotFound:
		return nil, sdk.Errorf(404, "user_not_found", "Genesys Cloud has no user with that id")
	case resp.StatusCode == http.StatusBadRequest:
		return nil, sdk.Errorf(400, "invalid_user_id", "Genesys Cloud refused the user id")
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, sdk.Errorf(502, "genesys_auth_failed", "Genesys Cloud refused the host's credentials (%d); check the genesys connection's OAuth client and its roles", resp.StatusCode)
	}
	io.Copy(io.Discard, resp.Body)
	e := sdk.Errorf(502, "genesys_unavailable", "Genesys Cloud answered %d after %s attempt(s)", resp.StatusCode, resp.Header.Get(sdk.AttemptsHeader))
	e.Retryable = true
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.Status = 503
	}
	return nil, e
}
