package gateway

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// managementTimeLayout is the ISO 8601 form of GetConnection's times.
const managementTimeLayout = "2006-01-02T15:04:05.000Z"

// connectionInfo is GetConnection's answer.
type connectionInfo struct {
	ConnectedAt  string             `json:"connectedAt"`
	Identity     connectionIdentity `json:"identity"`
	LastActiveAt string             `json:"lastActiveAt"`
}

type connectionIdentity struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// connectionIDFromPath returns the connection id of a Management API path:
// /@connections/{id}, or /{stage}/@connections/{id} as an endpoint built from
// domainName and stage produces. The id is URL-unescaped (ids end in '=',
// which clients send as %3D).
func (g *Gateway) connectionIDFromPath(u *url.URL) (string, bool) {
	segments := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	if len(segments) == 3 && segments[0] == url.PathEscape(g.cfg.Stage) {
		segments = segments[1:]
	}
	if len(segments) != 2 {
		return "", false
	}
	if prefix, err := url.PathUnescape(segments[0]); err != nil || prefix != "@connections" {
		return "", false
	}
	id, err := url.PathUnescape(segments[1])
	if err != nil || id == "" {
		return "", false
	}
	return id, true
}

// serveConnections serves the Management API for one connection id.
func (g *Gateway) serveConnections(w http.ResponseWriter, r *http.Request, id string) {
	log := g.log.With("connectionId", id, "method", r.Method)
	max := int64(g.cfg.MaxMessageBytes)
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		log.Info("management request unreadable", "status", http.StatusBadRequest, "error", err)
		writeAPIError(w, http.StatusBadRequest, "BadRequestException", "Bad Request")
		return
	}
	if int64(len(body)) > max {
		log.Info("management request too large", "status", http.StatusRequestEntityTooLarge)
		writeAPIError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "Request entity too large")
		return
	}
	if err := verifySigV4(r, body, g.cfg.AccessKeyID, g.cfg.SecretAccessKey, g.cfg.Region, g.cfg.Now()); err != nil {
		log.Info("management request refused", "status", http.StatusForbidden, "cause", err)
		writeAPIError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
		return
	}

	switch r.Method {
	case http.MethodPost, http.MethodGet, http.MethodDelete:
	default:
		w.Header().Set("Allow", "POST, GET, DELETE")
		writeAPIError(w, http.StatusMethodNotAllowed, "MethodNotAllowedException", "Method Not Allowed")
		return
	}
	c := g.lookup(id)
	if c == nil || c.closing() {
		log.Debug("management request for a gone connection", "status", http.StatusGone)
		writeAPIError(w, http.StatusGone, "GoneException", nil)
		return
	}
	switch r.Method {
	case http.MethodPost:
		if err := c.send(websocket.MessageText, body); err != nil {
			log.Debug("post to connection failed", "status", http.StatusGone, "error", err)
			writeAPIError(w, http.StatusGone, "GoneException", nil)
			return
		}
		log.Debug("posted to connection", "status", http.StatusOK)
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		writeJSON(w, http.StatusOK, connectionInfo{
			ConnectedAt:  c.connectedAt.UTC().Format(managementTimeLayout),
			Identity:     connectionIdentity{SourceIP: c.identity.sourceIP, UserAgent: c.identity.userAgent},
			LastActiveAt: time.Unix(0, c.lastActive.Load()).UTC().Format(managementTimeLayout),
		})
	case http.MethodDelete:
		log.Info("connection deleted", "status", http.StatusNoContent)
		c.close(websocket.StatusNormalClosure, "")
		w.WriteHeader(http.StatusNoContent)
	}
}

// writeAPIError answers an error the AWS SDK decodes by its
// x-amzn-ErrorType header. API Gateway's 410 for an unknown connection
// carries a null message.
func writeAPIError(w http.ResponseWriter, status int, errorType string, message any) {
	w.Header().Set("x-amzn-ErrorType", errorType)
	writeJSON(w, status, map[string]any{"message": message})
}
