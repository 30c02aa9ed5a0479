package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxAdminBytes bounds an admin request body.
const maxAdminBytes = 1 << 20

// FaultList is the body of GET /sim/faults and POST /sim/faults.
type FaultList struct {
	Faults []Fault `json:"faults"`
}

// AdminError is the body of a failed admin request.
type AdminError struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) {
	writeAdmin(w, http.StatusOK, s.Stats())
}

func (s *Server) serveFaults(w http.ResponseWriter, _ *http.Request) {
	writeAdmin(w, http.StatusOK, FaultList{Faults: s.Faults()})
}

func (s *Server) postFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := decodeAdmin(w, r, &f); err != nil {
		writeAdmin(w, http.StatusBadRequest, AdminError{Status: http.StatusBadRequest, Message: err.Error()})
		return
	}
	if err := s.AddFault(f); err != nil {
		writeAdmin(w, http.StatusBadRequest, AdminError{Status: http.StatusBadRequest, Message: err.Error()})
		return
	}
	writeAdmin(w, http.StatusCreated, FaultList{Faults: s.Faults()})
}

func (s *Server) deleteFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) revokeTokens(w http.ResponseWriter, _ *http.Request) {
	writeAdmin(w, http.StatusOK, struct {
		Revoked int `json:"revoked"`
	}{s.RevokeTokens()})
}

func (s *Server) reset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

// decodeAdmin decodes a body holding exactly one JSON value into v.
func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty body: want a JSON object")
		}
		return fmt.Errorf("bad JSON body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("bad JSON body: more than one JSON value")
	}
	return nil
}

func writeAdmin(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
