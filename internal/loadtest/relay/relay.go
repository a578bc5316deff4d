// Package relay is a raw WebSocket relay: the floor against which the local
// stack's cost per message is measured. It speaks the stack's wire protocol
// (POST /dev/token, GET /ws?token=…, sendmessage frames answered with an ack
// and delivered as message frames, /metrics) on the same WebSocket library
// (coder/websocket), with none of the stack's work: no token check (the
// token is the player id), no DynamoDB, no rate limit, no Management API, no
// Lambda event. A message to a player who is not connected is refused with
// the error code unavailable.
//
// It is a benchmark tool, not a server to expose: it answers on loopback
// only and trusts every client.
package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Relay is an http.Handler serving the raw relay.
type Relay struct {
	mu      sync.RWMutex
	players map[string]*websocket.Conn

	ids         atomic.Int64
	relayed     atomic.Int64
	disconnects atomic.Int64
}

// New returns an empty relay.
func New() *Relay { return &Relay{players: map[string]*websocket.Conn{}} }

// write sends v to ws as one text frame within 10 seconds; a
// websocket.Conn takes concurrent writes.
func write(ctx context.Context, ws *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, b)
}

// frame is the part of a client frame the relay reads.
type frame struct {
	Action  string          `json:"action"`
	To      string          `json:"to"`
	ID      string          `json:"id"`
	Message json.RawMessage `json:"message"`
}

// ServeHTTP serves /dev/token, /ws and /metrics.
func (r *Relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case "/dev/token":
		var in struct {
			PlayerID string `json:"playerId"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 4096)).Decode(&in); err != nil || in.PlayerID == "" {
			http.Error(w, "playerId is required", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": in.PlayerID})
	case "/ws":
		r.serveWS(w, req)
	case "/metrics":
		fmt.Fprintf(w, "messages_delivered_total %d\n", r.relayed.Load())
		fmt.Fprintf(w, "handler_invocations_total{route=%q} %d\n", "$disconnect", r.disconnects.Load())
	default:
		http.NotFound(w, req)
	}
}

func (r *Relay) serveWS(w http.ResponseWriter, req *http.Request) {
	player := req.URL.Query().Get("token")
	if player == "" {
		http.Error(w, "no token", http.StatusUnauthorized)
		return
	}
	ws, err := websocket.Accept(w, req, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(128 << 10)
	r.mu.Lock()
	r.players[player] = ws
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.players[player] == ws {
			delete(r.players, player)
		}
		r.mu.Unlock()
		r.disconnects.Add(1)
	}()
	ctx := req.Context()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			ws.CloseNow()
			return
		}
		var f frame
		if json.Unmarshal(data, &f) != nil || f.Action != "sendmessage" {
			_ = write(ctx, ws, map[string]string{"type": "error", "id": f.ID, "code": "unknown_action"})
			continue
		}
		r.mu.RLock()
		to := r.players[f.To]
		r.mu.RUnlock()
		if to == nil {
			_ = write(ctx, ws, map[string]string{"type": "error", "id": f.ID, "code": "unavailable"})
			continue
		}
		id := strconv.FormatInt(r.ids.Add(1), 10)
		now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		if err := write(ctx, to, map[string]any{"type": "message", "id": id, "from": player, "message": f.Message, "sentAt": now}); err != nil {
			_ = write(ctx, ws, map[string]string{"type": "error", "id": f.ID, "code": "unavailable"})
			continue
		}
		r.relayed.Add(1)
		_ = write(ctx, ws, map[string]any{"type": "ack", "id": f.ID, "messageId": id, "status": "delivered", "connections": 1})
	}
}
