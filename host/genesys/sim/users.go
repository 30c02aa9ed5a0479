package sim

import "net/http"

// IDs of the users DefaultUsers seeds, and of their division.
const (
	// AgentUserID is Aoife Byrne, an active agent managed by SupervisorUserID.
	AgentUserID = "ce7c4800-8199-4882-a74f-ebbe5098d075"
	// SupervisorUserID is Marcus Okafor, an active team lead.
	SupervisorUserID = "adf051f5-f03d-4b3a-a43f-0cf4862cfea1"
	// AdminUserID is Priya Raman, an active administrator.
	AdminUserID = "17cec8ba-7445-4aed-9b43-b1912d957aa2"
	// InactiveUserID is Tomás Herrera, whose state is "inactive": Genesys
	// Cloud still answers 200 for such a user.
	InactiveUserID = "5aa9ad42-7c6d-4659-92fd-c4a2553ce528"
	// HomeDivisionID is the "Home" division every seeded user belongs to.
	HomeDivisionID = "bd8b11b8-8307-41bd-aa58-3f64ba970639"
)

// User is a Genesys Cloud User object as GET /api/v2/users/{userId} returns
// it without expansions. Fields Genesys omits when empty are omitempty here.
type User struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Division           Division  `json:"division"`
	Chat               Chat      `json:"chat"`
	Department         string    `json:"department,omitempty"`
	Email              string    `json:"email"`
	PrimaryContactInfo []Contact `json:"primaryContactInfo"`
	Addresses          []Contact `json:"addresses"`
	// State is "active", "inactive" or "deleted".
	State    string   `json:"state"`
	Title    string   `json:"title,omitempty"`
	Username string   `json:"username"`
	Manager  *UserRef `json:"manager,omitempty"`
	Version  int      `json:"version"`
	// AcdAutoAnswer is spelt as Genesys spells the JSON field.
	AcdAutoAnswer bool `json:"acdAutoAnswer"`
	// SelfURI is the user's path; New sets it when empty.
	SelfURI string `json:"selfUri"`
}

// Division is a reference to an authorization division.
type Division struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// SelfURI is the division's path; New sets it when empty.
	SelfURI string `json:"selfUri"`
}

// Chat holds a user's chat identity.
type Chat struct {
	JabberID string `json:"jabberId"`
}

// Contact is one entry of primaryContactInfo or addresses.
type Contact struct {
	Address string `json:"address"`
	Display string `json:"display,omitempty"`
	// MediaType is "EMAIL", "PHONE" or "SMS".
	MediaType string `json:"mediaType"`
	// Type is "PRIMARY" in primaryContactInfo; "WORK", "MOBILE", ... in addresses.
	Type        string `json:"type"`
	CountryCode string `json:"countryCode,omitempty"`
}

// UserRef is a reference to another user, such as a manager.
type UserRef struct {
	ID      string `json:"id"`
	SelfURI string `json:"selfUri"`
}

// DefaultUsers returns the users a Server serves when Options.Users is nil:
// AgentUserID, SupervisorUserID, AdminUserID and InactiveUserID. Each call
// returns fresh values.
func DefaultUsers() []User {
	home := Division{ID: HomeDivisionID, Name: "Home"}
	user := func(id, name, login, title, department, jabber string, version int) User {
		email := login + "@example.com"
		return User{
			ID:         id,
			Name:       name,
			Division:   home,
			Chat:       Chat{JabberID: jabber + "@switchboard-sim.orgspan.com"},
			Department: department,
			Email:      email,
			PrimaryContactInfo: []Contact{
				{Address: email, MediaType: "EMAIL", Type: "PRIMARY"},
			},
			Addresses: []Contact{},
			State:     "active",
			Title:     title,
			Username:  email,
			Version:   version,
		}
	}

	agent := user(AgentUserID, "Aoife Byrne", "aoife.byrne", "Customer Service Agent", "Customer Care", "62488fefd0c1666a5ca00ace", 14)
	agent.Manager = &UserRef{ID: SupervisorUserID, SelfURI: userURI(SupervisorUserID)}
	agent.AcdAutoAnswer = true
	agent.Addresses = []Contact{
		{Address: "+35315550142", Display: "+353 1 555 0142", MediaType: "PHONE", Type: "WORK", CountryCode: "IE"},
	}
	agent.PrimaryContactInfo = append(agent.PrimaryContactInfo,
		Contact{Address: "+35315550142", Display: "+353 1 555 0142", MediaType: "PHONE", Type: "PRIMARY"})

	supervisor := user(SupervisorUserID, "Marcus Okafor", "marcus.okafor", "Team Lead", "Customer Care", "bb8ff6e4d4c9e1056bfd6441", 7)
	admin := user(AdminUserID, "Priya Raman", "priya.raman", "Contact Centre Administrator", "IT", "83a9602db6b209f22e0c32e4", 3)

	inactive := user(InactiveUserID, "Tomás Herrera", "tomas.herrera", "Customer Service Agent", "Customer Care", "3d78a3c71a3c38c075ba88d9", 22)
	inactive.State = "inactive"

	return []User{agent, supervisor, admin, inactive}
}

func userURI(id string) string { return "/api/v2/users/" + id }

// normalizeUser fills in what Genesys always sends: self URIs and empty
// (not null) contact lists.
func normalizeUser(u User) User {
	if u.SelfURI == "" {
		u.SelfURI = userURI(u.ID)
	}
	if u.Division.SelfURI == "" && u.Division.ID != "" {
		u.Division.SelfURI = "/api/v2/authorization/divisions/" + u.Division.ID
	}
	if u.PrimaryContactInfo == nil {
		u.PrimaryContactInfo = []Contact{}
	}
	if u.Addresses == nil {
		u.Addresses = []Contact{}
	}
	return u
}

// getUser serves GET /api/v2/users/{userId}. Query parameters such as
// expand are ignored.
func (s *Server) getUser(r *http.Request) reply {
	u, ok := s.users[r.PathValue("userId")]
	if !ok {
		return notFound(r)
	}
	return reply{status: http.StatusOK, body: u}
}

// notFound answers an unknown user or path.
func notFound(*http.Request) reply {
	return reply{status: http.StatusNotFound, body: apiError(http.StatusNotFound, codeNotFound, msgNotFound)}
}
