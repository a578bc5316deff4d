package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// fakeStore is a function-field fake of the DynamoDB adapter; nil fields
// record the call and succeed.
type fakeStore struct {
	mu       sync.Mutex
	conns    map[string][]domain.Connection
	deleted  []string // "player/connection"
	queued   []domain.QueuedMessage
	dequeued []string

	put         func(domain.Connection) error
	list        func(ctx context.Context) // called by PlayerConnections, if set
	lists       int                       // PlayerConnections calls
	listErr     error
	enqueueErr  error
	deleteQErr  error
	online      func([]string) ([]string, error)
	deleteErr   error
	inboxResult []domain.QueuedMessage
}

func (f *fakeStore) PutConnection(_ context.Context, c domain.Connection) error {
	if f.put != nil {
		return f.put(c)
	}
	return nil
}

func (f *fakeStore) DeleteConnection(_ context.Context, playerID, connectionID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, playerID+"/"+connectionID)
	return f.deleteErr
}

func (f *fakeStore) PlayerConnections(ctx context.Context, playerID string) ([]domain.Connection, error) {
	f.mu.Lock()
	f.lists++
	f.mu.Unlock()
	if f.list != nil {
		f.list(ctx)
	}
	return f.conns[playerID], f.listErr
}

func (f *fakeStore) OnlinePlayers(_ context.Context, ids []string) ([]string, error) {
	return f.online(ids)
}

func (f *fakeStore) Enqueue(_ context.Context, m domain.QueuedMessage) error {
	if f.enqueueErr != nil {
		return f.enqueueErr
	}
	f.queued = append(f.queued, m)
	return nil
}

func (f *fakeStore) Inbox(_ context.Context, playerID string, limit int) ([]domain.QueuedMessage, error) {
	return f.inboxResult, f.listErr
}

func (f *fakeStore) DeleteQueued(_ context.Context, playerID, messageID string) error {
	f.dequeued = append(f.dequeued, playerID+"/"+messageID)
	return f.deleteQErr
}

// fakeSender records posts; post decides each post's outcome.
type fakeSender struct {
	mu      sync.Mutex
	posts   map[string][][]byte
	closed  []string
	post    func(connectionID string) error
	postErr error
}

func (s *fakeSender) Post(_ context.Context, id string, data []byte) error {
	var err error
	if s.post != nil {
		err = s.post(id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		if s.posts == nil {
			s.posts = map[string][][]byte{}
		}
		s.posts[id] = append(s.posts[id], append([]byte(nil), data...))
	}
	return err
}

func (s *fakeSender) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = append(s.closed, id)
	return nil
}

type fakeLimiter struct {
	calls    int
	decision domain.Admission
	err      error
	refuses  bool                      // RefusesMessage's answer
	allow    func(ctx context.Context) // called by AllowMessage, if set
}

func (l *fakeLimiter) RefusesMessage(string, int) bool { return l.refuses }

func (l *fakeLimiter) AllowMessage(ctx context.Context, _ string, _ int) (domain.Admission, error) {
	l.calls++
	if l.allow != nil {
		l.allow(ctx)
	}
	return l.decision, l.err
}

func (l *fakeLimiter) AllowConnect(context.Context, string) (domain.Admission, error) {
	l.calls++
	return l.decision, l.err
}

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// event builds a message event of player on connection with body.
func event(route, connectionID, player, body string) events.APIGatewayWebsocketProxyRequest {
	return events.APIGatewayWebsocketProxyRequest{
		Body: body,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: route, ConnectionID: connectionID, RequestID: "req-1", EventType: "MESSAGE",
			Authorizer: map[string]any{
				"principalId": player, "playerId": player, "playerName": player,
				"groups": "", "tokenExpiresAt": float64(testNow.Add(time.Hour).Unix()),
			},
		},
	}
}

// decode reads a frame into a map.
func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("frame %q is not JSON: %v", s, err)
	}
	return m
}

func testLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
