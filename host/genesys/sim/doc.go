// Package sim simulates the parts of Genesys Cloud that Switchboard's
// outbound layer calls — the OAuth client-credentials token endpoint and
// GET /api/v2/users/{userId} — with fault injection, for tests and for
// `switchboard sim genesys`. A stock golang.org/x/oauth2/clientcredentials
// config and a plain http.Client work against it unchanged.
//
// Use it from a test:
//
//	s := sim.New(sim.Options{})
//	ts := httptest.NewServer(s.Handler()) // 127.0.0.1:0
//	defer ts.Close()
//	// token URL: ts.URL + "/oauth/token", API base URL: ts.URL
//	// credentials: s.ClientID(), s.ClientSecret(); users: sim.AgentUserID, ...
//
// One address serves both what Genesys Cloud splits between
// login.<region> and api.<region>, over plain HTTP.
//
// # Simulated Genesys Cloud endpoints
//
// POST /oauth/token — the client-credentials grant.
//   - Content-Type must be application/x-www-form-urlencoded, else 400
//     invalid_request.
//   - Client credentials: the header Authorization: Basic base64(id:secret),
//     with id and secret either as they are (Genesys's SDKs) or form-encoded
//     first (RFC 6749 §2.3.1, golang.org/x/oauth2); or, without that header,
//     form fields client_id and client_secret, which the real login service
//     also accepts. Missing → 401 invalid_client "client authentication
//     required"; unknown id → 401 invalid_client "client not found"; wrong
//     secret → 401 invalid_client "authentication failed".
//   - grant_type=client_credentials (scope is accepted and ignored); missing
//     → 400 invalid_request; any other → 400 unsupported_grant_type.
//   - 200: {"access_token":"…","token_type":"bearer","expires_in":86400},
//     with Cache-Control: no-store. Tokens are random and opaque.
//   - Errors: {"error":"invalid_client","description":"…","error_description":"…"}.
//
// GET /api/v2/users/{userId} — needs Authorization: Bearer <token>.
//   - 200: a User object (see User; seeded: AgentUserID, SupervisorUserID,
//     AdminUserID, InactiveUserID). Query parameters (expand, …) are ignored.
//   - 401 authentication.required when there is no bearer token; 401
//     bad.credentials when the token is unknown, expired or revoked; 404
//     not.found for an unknown user, or any other path under /api/; 429
//     too.many.requests with Retry-After past Options.TokenRateLimit.
//   - Errors: {"message":"…","code":"not.found","status":404,
//     "messageParams":{},"contextId":"…","details":[],"errors":[]}.
//
// Every answer carries ININ-Correlation-Id: the request's own, echoed, or a
// new UUID; an error's contextId is the same value.
//
// # Admin API
//
// Under /sim/, never subject to faults, JSON in and out. Every method below
// has a Go equivalent on Server. A rejected request answers
// 400 {"status":400,"message":"…"}.
//
//	GET    /sim/stats          200 Stats: {"tokenRequests":3,"tokensIssued":2,"activeTokens":2,
//	                               "apiRequests":5,"apiByStatus":{"200":4,"401":1},
//	                               "faultsApplied":1,"cancelled":0}
//	GET    /sim/faults         200 {"faults":[…]}: pending faults, in order, with remaining counts
//	POST   /sim/faults         body: one fault object; 201 {"faults":[…]} (AddFault)
//	DELETE /sim/faults         204; removes every fault (ClearFaults)
//	POST   /sim/tokens/revoke  200 {"revoked":N}; every issued token stops working (RevokeTokens)
//	POST   /sim/reset          204; revokes tokens, clears faults, zeroes stats (Reset)
//
// A fault object has these fields, all optional, unknown ones rejected:
//
//	path        string  "/api/v2/users" matches that path and those below it;
//	                    "/oauth/token" the token endpoint; absent: every simulated endpoint
//	status      int     400–599: answer this instead of serving the request, with the
//	                    endpoint's own error body (login service or platform API shape)
//	retryAfter  string  Retry-After header sent with status: seconds ("1") or an HTTP date
//	                    ("Wed, 21 Oct 2026 07:28:00 GMT")
//	latency     string  Go duration ("300ms"): delay the answer, faulty or not; a client
//	                    that gives up ends the wait (counted in stats.cancelled)
//	count       int     matching requests it applies to: absent or 0 = once, N = N times,
//	                    -1 = until cleared
//
// A fault needs a status, a latency or both. Faults apply in the order they
// were added: each request takes one use of the first pending fault whose
// path matches, and no other. Examples:
//
//	{"path":"/api/v2/users","status":429,"retryAfter":"1","count":2}  two 429s, then normal
//	{"status":503,"count":-1}                                          everything 503 until cleared
//	{"latency":"300ms"}                                                the next request waits 300 ms
//	{"path":"/oauth/token","status":500}                               the next token request fails
//
// With curl:
//
//	curl -X POST localhost:8089/sim/faults -d '{"path":"/api/v2/users","status":503,"count":-1}'
//	curl -X POST localhost:8089/sim/tokens/revoke
//	curl localhost:8089/sim/stats
package sim
