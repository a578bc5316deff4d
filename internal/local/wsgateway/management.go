package wsgateway

import (
	"errors"
	"io"
	"net/http"
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

// serveConnections serves the Management API for one connection id, at
// /@connections/{id} or, as an endpoint built from domainName and stage
// produces, /{stage}/@connections/{id}. The id arrives URL-unescaped (ids end
// in '=', which clients send as %3D).
func (g *Gateway) serveConnections(w http.ResponseWriter, r *http.Request) {
	if stage := r.PathValue("stage"); stage != "" && stage != g.cfg.Stage {
		notFound(w, r)
		return
	}
	id := r.PathValue("id")
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
		// 200 once the frame is in the connection's outbound buffer, as API
		// Gateway answers before its frame reaches the client.
		err := c.send(websocket.MessageText, body)
		switch {
		case errors.Is(err, errOutboundFull):
			log.Info("post refused: outbound buffer full", "status", http.StatusTooManyRequests)
			writeAPIError(w, http.StatusTooManyRequests, "LimitExceededException", "Limit Exceeded")
			return
		case err != nil:
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
