package wsgateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"
)

// TestOutboundBufferBounds fills the outbound buffer of connections whose
// upgrade has not finished, so that their writer holds every frame.
func TestOutboundBufferBounds(t *testing.T) {
	g, err := New(Config{Authorizer: newRecorder().authorize, MaxOutboundFrames: 3, MaxOutboundBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		bytes int
		full  bool
	}
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"an empty buffer takes any one frame", []step{{200, false}, {1, true}}},
		{"bytes", []step{{60, false}, {50, true}, {40, false}}},
		{"frames", []step{{0, false}, {0, false}, {0, false}, {0, true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newConn(g, httptest.NewRequest(http.MethodGet, "/ws", nil))
			for i, s := range tt.steps {
				if err := c.send(websocket.MessageText, make([]byte, s.bytes)); errors.Is(err, errOutboundFull) != s.full {
					t.Fatalf("step %d: send of %d bytes = %v, want full %v", i, s.bytes, err, s.full)
				}
			}
			// The upgrade fails: the writer discards the frames and ends.
			close(c.ready)
			c.writers.Wait()
			if c.writing || c.out != nil || c.outBytes != 0 {
				t.Errorf("after the writer: writing %v, %d frames, %d bytes", c.writing, len(c.out), c.outBytes)
			}
			c.setStatus(closeStatus{code: websocket.StatusAbnormalClosure})
			if err := c.send(websocket.MessageText, nil); !errors.Is(err, net.ErrClosed) {
				t.Errorf("send on a closing connection = %v, want net.ErrClosed", err)
			}
		})
	}
}

// fillOutbound posts numbered 64 KiB frames to connection id, whose client
// does not read, until a post is refused with 429 LimitExceededException,
// and returns how many were accepted.
func fillOutbound(t *testing.T, h *harness, id string) int {
	t.Helper()
	api := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(h.srv.URL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		Retryer:      aws.NopRetryer{}, // the SDK's retryer would retry a 429 as throttling
	})
	padding := strings.Repeat("x", 64<<10)
	for accepted := 0; ; accepted++ {
		err := post(context.Background(), api, id, fmt.Sprintf("%06d%s", accepted, padding))
		if err == nil {
			continue
		}
		if _, ok := errors.AsType[*types.LimitExceededException](err); !ok {
			t.Fatalf("post %d: %v, want a LimitExceededException", accepted, err)
		}
		if code, status := apiErrorOf(err); status != http.StatusTooManyRequests || code != "LimitExceededException" {
			t.Fatalf("post %d: %s %d, want 429 LimitExceededException", accepted, code, status)
		}
		if accepted < h.g.cfg.MaxOutboundFrames {
			t.Fatalf("only %d posts accepted before the buffer was full", accepted)
		}
		return accepted
	}
}

// receiveNumbered reads n frames posted by fillOutbound, in order.
func receiveNumbered(t *testing.T, ws *websocket.Conn, n int) {
	t.Helper()
	for i := range n {
		if got := receive(t, ws); got[:6] != fmt.Sprintf("%06d", i) {
			t.Fatalf("frame %d is post %s", i, got[:6])
		}
	}
}

// TestPostToAClientThatDoesNotRead posts to a client that does not read
// until the post is refused, then has the client read: it gets every
// accepted frame, in order, and posts are accepted again.
func TestPostToAClientThatDoesNotRead(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxOutboundFrames = 4 })
	ws := h.dial("alice", nil)
	ws.SetReadLimit(-1)
	id := h.lastConnectionID()
	accepted := fillOutbound(t, h, id)
	if h.g.ConnectionCount() != 1 {
		t.Fatal("a full buffer dropped the connection")
	}
	receiveNumbered(t, ws, accepted)
	api := managementClient(h.srv.URL, "us-east-1", "local", "local")
	if err := post(context.Background(), api, id, "again"); err != nil {
		t.Fatalf("post after the client read: %v", err)
	}
	if got := receive(t, ws); got != "again" {
		t.Fatalf("client got %.20q, want again", got)
	}
}

// TestClientCloseAfterPosts has a client close its connection while the
// frames posted to it still wait in the outbound buffer, then read until
// the server's close frame: every frame a post was answered 200 for comes
// before it.
func TestClientCloseAfterPosts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxOutboundFrames = 4 })
	var raw net.Conn // the client's TCP connection, for a close frame written by hand
	ws := h.dial("alice", &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			raw = c
			return c, err
		},
	}}})
	ws.SetReadLimit(-1)
	accepted := fillOutbound(t, h, h.lastConnectionID())
	// A masked close frame, 1000, with a zero masking key.
	if _, err := raw.Write([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8}); err != nil {
		t.Fatal(err)
	}
	receiveNumbered(t, ws, accepted)
	checkClosed(t, h, ws, websocket.StatusNormalClosure, "")
}

// TestDeleteAfterPosts deletes a connection right after posting to it, as
// the admin API's kick does: the client reads every post, then the close.
func TestDeleteAfterPosts(t *testing.T) {
	h := newHarness(t, nil)
	ws := h.dial("alice", nil)
	id := h.lastConnectionID()
	api := managementClient(h.srv.URL, "us-east-1", "local", "local")
	ctx := context.Background()
	const posts = 20
	for i := range posts {
		if err := post(ctx, api, id, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	for i := range posts {
		if got := receive(t, ws); got != fmt.Sprint(i) {
			t.Fatalf("frame %d = %q", i, got)
		}
	}
	checkClosed(t, h, ws, websocket.StatusNormalClosure, "")
}

// TestReplyWaitsForRoom: a post to a full buffer is refused, but the answer
// to the client's own frame waits for room instead of being dropped, so a
// client that sends faster than it reads loses no answer.
func TestReplyWaitsForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, err := New(Config{Authorizer: newRecorder().authorize, MaxOutboundFrames: 1})
		if err != nil {
			t.Fatal(err)
		}
		c := newConn(g, httptest.NewRequest(http.MethodGet, "/ws", nil))
		if err := c.send(websocket.MessageText, []byte("first")); err != nil {
			t.Fatal(err)
		}
		if err := c.send(websocket.MessageText, []byte("a post")); !errors.Is(err, errOutboundFull) {
			t.Fatalf("a post to a full buffer = %v, want it refused", err)
		}
		replied := make(chan error, 1)
		go func() { replied <- c.reply(websocket.MessageText, []byte("an answer")) }()
		synctest.Wait()
		select {
		case err := <-replied:
			t.Fatalf("the answer returned %v with the buffer still full, want it to wait", err)
		default:
		}
		// The upgrade fails: the writer takes the first frame (and drops
		// it), which makes room for the answer.
		close(c.ready)
		if err := <-replied; err != nil {
			t.Fatalf("the answer = %v once there was room, want it queued", err)
		}
		c.writers.Wait()
	})
}
