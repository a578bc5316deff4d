package wsgateway

import (
	"errors"
	"fmt"
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
	var gone error
	switch r.Method {
	case http.MethodPost:
		err := g.Post(id, body)
		switch {
		case errors.Is(err, ErrLimitExceeded):
			log.Info("post refused: outbound buffer full", "status", http.StatusTooManyRequests)
			writeAPIError(w, http.StatusTooManyRequests, "LimitExceededException", "Limit Exceeded")
			return
		case err != nil:
			gone = err
		default:
			log.Debug("posted to connection", "status", http.StatusOK)
			w.WriteHeader(http.StatusOK)
			return
		}
	case http.MethodGet:
		c := g.lookup(id)
		if c == nil || c.closing() {
			gone = ErrGone
			break
		}
		writeJSON(w, http.StatusOK, connectionInfo{
			ConnectedAt:  c.connectedAt.UTC().Format(managementTimeLayout),
			Identity:     connectionIdentity{SourceIP: c.identity.sourceIP, UserAgent: c.identity.userAgent},
			LastActiveAt: time.Unix(0, c.lastActive.Load()).UTC().Format(managementTimeLayout),
		})
		return
	case http.MethodDelete:
		if gone = g.Delete(id); gone == nil {
			log.Info("connection deleted", "status", http.StatusNoContent)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	log.Debug("management request for a gone connection", "status", http.StatusGone, "error", gone)
	writeAPIError(w, http.StatusGone, "GoneException", nil)
}

// Errors of Post and Delete, as the Management API answers them over HTTP:
// 410 GoneException and 429 LimitExceededException.
var (
	ErrGone          = errors.New("connection gone")
	ErrLimitExceeded = errors.New("the connection's outbound buffer is full")
)

// Post is the Management API's PostToConnection, in process: it queues
// data as one text frame for the connection id, after every frame queued
// before it, and returns once it is queued, as API Gateway answers 200
// before the frame reaches the client. An unknown or closing connection's
// error wraps ErrGone; a full outbound buffer's wraps ErrLimitExceeded.
// The local stack's handlers post through it, skipping the signed HTTP
// request that /@connections serves to outside callers.
func (g *Gateway) Post(id string, data []byte) error {
	c := g.lookup(id)
	if c == nil || c.closing() {
		return fmt.Errorf("post to connection %s: %w", id, ErrGone)
	}
	if len(data) > g.cfg.MaxMessageBytes {
		return fmt.Errorf("post to connection %s: %d bytes, more than %d", id, len(data), g.cfg.MaxMessageBytes)
	}
	err := c.send(websocket.MessageText, data)
	switch {
	case errors.Is(err, errOutboundFull):
		return fmt.Errorf("post to connection %s: %w: %w", id, ErrLimitExceeded, err)
	case err != nil:
		return fmt.Errorf("post to connection %s: %w: %w", id, ErrGone, err)
	}
	return nil
}

// Delete is the Management API's DeleteConnection, in process: it closes
// the connection (1000) after the frames already queued; $disconnect then
// runs. An unknown or closing connection's error wraps ErrGone.
func (g *Gateway) Delete(id string) error {
	c := g.lookup(id)
	if c == nil || c.closing() {
		return fmt.Errorf("delete connection %s: %w", id, ErrGone)
	}
	c.serverClosed.Store(true)
	c.close(websocket.StatusNormalClosure, "")
	return nil
}

// writeAPIError answers an error the AWS SDK decodes by its
// x-amzn-ErrorType header. API Gateway's 410 for an unknown connection
// carries a null message.
func writeAPIError(w http.ResponseWriter, status int, errorType string, message any) {
	w.Header().Set("x-amzn-ErrorType", errorType)
	writeJSON(w, status, map[string]any{"message": message})
}
