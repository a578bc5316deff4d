package devissuer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// HTTP paths served by Handler.
const (
	TokenPath = "/dev/token"
	JWKSPath  = "/.well-known/jwks.json"
)

// maxRequestBytes bounds the body of POST /dev/token.
const maxRequestBytes = 4 << 10

// tokenResponse is the body of a successful POST /dev/token.
type tokenResponse struct {
	Token     string `json:"token"`
	ExpiresAt int64  `json:"expiresAt"` // unix seconds
}

// errorResponse is the body of a failed request.
type errorResponse struct {
	Error string `json:"error"`
}

// Handler serves POST /dev/token, which answers a TokenRequest with
// {"token":"…","expiresAt":<unix seconds>}, and GET /.well-known/jwks.json.
// Errors are JSON {"error":"…"}: 400 for a bad request, 405 for a wrong
// method, 413 for a body over 4 KiB.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(TokenPath, i.serveToken)
	mux.HandleFunc(JWKSPath, i.serveJWKS)
	return mux
}

func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorResponse{Error: "use POST"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			writeJSON(w, http.StatusRequestEntityTooLarge, errorResponse{Error: "body is over 4096 bytes"})
			return
		}
		writeJSON(w, http.StatusBadRequest, errorResponse{Error: "body unreadable"})
		return
	}
	var req TokenRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(&req)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("body holds more than one JSON value")
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorResponse{Error: "bad JSON: " + err.Error()})
		return
	}
	token, exp, err := i.Issue(req)
	switch {
	case errors.Is(err, ErrInvalidRequest):
		writeJSON(w, http.StatusBadRequest, errorResponse{Error: err.Error()})
		return
	case err != nil:
		i.cfg.Logger.ErrorContext(r.Context(), "dev token not issued", "error", err)
		writeJSON(w, http.StatusInternalServerError, errorResponse{Error: "internal error"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{Token: token, ExpiresAt: exp.Unix()})
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, errorResponse{Error: "use GET"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodGet {
		_, _ = w.Write(i.jwks) // the client may be gone; nothing to do
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}
