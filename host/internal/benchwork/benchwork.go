// Package benchwork is the work `make bench` gives Switchboard and its peer
// (Benthos) alike: validate a 9-property input (patterns, enums,
// date-time), build a ticket of about 300 bytes from three of its fields,
// validate the ticket against a schema of the same size.
package benchwork

// InputSchema is the ticket request's schema.
const InputSchema = `{"type":"object","properties":{` +
	`"customerId":{"type":"string","pattern":"^C[0-9]{8}$"},` +
	`"channel":{"type":"string","enum":["voice","chat","email","sms"]},` +
	`"priority":{"type":"string","enum":["low","normal","high","urgent"]},` +
	`"openedAt":{"type":"string","format":"date-time"},` +
	`"subject":{"type":"string","minLength":1,"maxLength":120},` +
	`"queueId":{"type":"string","pattern":"^[a-f0-9-]{36}$"},` +
	`"language":{"type":"string","pattern":"^[a-z]{2}(-[A-Z]{2})?$"},` +
	`"accountTier":{"type":"string","enum":["bronze","silver","gold"]},` +
	`"callbackNumber":{"type":"string","pattern":"^\\+[0-9]{8,15}$"}},` +
	`"required":["customerId","channel","priority","openedAt","subject","queueId","language","accountTier","callbackNumber"]}`

// OutputSchema is the ticket's schema.
const OutputSchema = `{"type":"object","properties":{` +
	`"ticketId":{"type":"string","pattern":"^T-C[0-9]{8}$"},` +
	`"customerId":{"type":"string","pattern":"^C[0-9]{8}$"},` +
	`"priority":{"type":"string","enum":["low","normal","high","urgent"]},` +
	`"summary":{"type":"string","minLength":1},` +
	`"status":{"type":"string","enum":["open"]},` +
	`"slaMinutes":{"type":"integer","minimum":1},` +
	`"team":{"type":"string"},` +
	`"source":{"type":"string","enum":["switchboard"]},` +
	`"notes":{"type":"string"}},` +
	`"required":["ticketId","customerId","priority","summary","status","slaMinutes","team","source","notes"]}`

// Body is the request both serve.
const Body = `{"customerId":"C12345678","channel":"voice","priority":"high","openedAt":"2026-12-02T07:59:00Z",` +
	`"subject":"Card declined at checkout twice","queueId":"6b0e1c2a-8d3f-4a5b-9c7d-1e2f3a4b5c6d","language":"en-IE",` +
	`"accountTier":"gold","callbackNumber":"+353861234567"}`

// SLA minutes by priority.
var SLA = map[string]int{"low": 480, "normal": 240, "high": 60, "urgent": 15}

// Ticket is what both build, the same way, from customerId, priority and
// subject.
func Ticket(customerID, priority, subject string) map[string]any {
	return map[string]any{
		"ticketId": "T-" + customerID, "customerId": customerID, "priority": priority,
		"summary": "Customer " + customerID + " reports: " + subject, "status": "open",
		"slaMinutes": SLA[priority], "team": "contact-centre-tier-1", "source": "switchboard",
		"notes": "Raised by the data action from the caller's request; see the interaction for details.",
	}
}

// Bloblang is the same ticket in Benthos's mapping language.
const Bloblang = `root.ticketId = "T-" + this.customerId
root.customerId = this.customerId
root.priority = this.priority
root.summary = "Customer " + this.customerId + " reports: " + this.subject
root.status = "open"
root.slaMinutes = {"low": 480, "normal": 240, "high": 60, "urgent": 15}.get(this.priority)
root.team = "contact-centre-tier-1"
root.source = "switchboard"
root.notes = "Raised by the data action from the caller's request; see the interaction for details."
`
