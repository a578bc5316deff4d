package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/serverless-websockets/serverless-websockets/internal/local/wsgateway"
	"github.com/serverless-websockets/serverless-websockets/internal/wsclient"
)

// The shape of the non-reader run: more flooding senders than message
// invocations may run at once, so a post that blocked on a non-reader
// would hold every slot.
const (
	nonReaders     = 5
	flooders       = 8
	floodSlots     = 4
	pairMessages   = 20
	floodAckWindow = 20 * time.Second // a safety net for a hung reply, not a speed assertion
	// floodBytes is the size of a flooder's message, well inside a frame,
	// so that few fill a non-reader's socket buffers.
	floodBytes = 24 << 10
)

// dialNonReader connects player and never reads from its socket: the
// frames the gateway writes pile up in the socket buffers, then in the
// gateway's outbound buffer.
func (s *stack) dialNonReader(player string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dialer := &net.Dialer{Control: smallReceiveBuffer}
	ws, _, err := websocket.Dial(ctx, s.wsURL(s.token(player, 3600)), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}},
	})
	if err != nil {
		s.t.Fatalf("dial %s: %v", player, err)
	}
	s.t.Cleanup(func() { ws.CloseNow() })
}

// flooder sends messages of floodBytes to one player, each after the reply to the
// one before, until stop is closed.
type flooder struct {
	conn      *wsclient.Conn
	to        string
	delivered atomic.Int64
	refused   atomic.Int64  // answered unavailable
	other     atomic.Value  // the first reply that was neither, or the failure
	refusedCh chan struct{} // closed at the first refusal
}

func (f *flooder) run(stop <-chan struct{}) {
	payload := strings.Repeat("x", floodBytes-2) // a JSON string
	once := sync.Once{}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		id := fmt.Sprintf("flood-%d", i)
		reply, _, err := f.conn.Request(context.Background(), id, map[string]any{
			"action": "sendmessage", "to": f.to, "message": payload, "id": id,
		}, floodAckWindow)
		switch {
		case err != nil:
			f.other.CompareAndSwap(nil, err.Error())
			return
		case reply.Type == "ack" && reply.Status == "delivered":
			f.delivered.Add(1)
		case reply.Type == "error" && reply.Code == "unavailable":
			f.refused.Add(1)
			once.Do(func() { close(f.refusedCh) })
		default:
			f.other.CompareAndSwap(nil, string(reply.Raw))
		}
	}
}

// TestNonReadersDoNotSlowOthers floods connections that never read while
// another pair exchanges messages. Posts to the non-readers are refused
// (the gateway's full outbound buffer answers 429 LimitExceededException,
// the sender gets unavailable) instead of blocking the invocation slots,
// so the pair's messages are all delivered while every non-reader is still
// connected: none of them needed the gateway's write timeout to drop a
// non-reader first.
func TestNonReadersDoNotSlowOthers(t *testing.T) {
	s := startStack(t, noLimits(), withEnv("MAX_MESSAGE_BYTES", strconv.Itoa(floodBytes)), withGateway(func(c *wsgateway.Config) { c.MessageConcurrency = floodSlots }))
	for i := range nonReaders {
		s.dialNonReader(fmt.Sprintf("sink-%d", i))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var floods []*flooder
	for i := range flooders {
		c := s.dial(fmt.Sprintf("flooder-%d", i))
		f := &flooder{conn: c.ws, to: fmt.Sprintf("sink-%d", i%nonReaders), refusedCh: make(chan struct{})}
		floods = append(floods, f)
		wg.Go(func() { f.run(stop) })
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	alice, bob := s.dial("alice"), s.dial("bob")
	open := s.Gateway.ConnectionCount()

	// Every flooder's recipient is full before the pair starts.
	for i, f := range floods {
		select {
		case <-f.refusedCh:
		case <-time.After(floodAckWindow):
			t.Fatalf("flooder %d: no post to %s refused (%d delivered; %v)", i, f.to, f.delivered.Load(), f.other.Load())
		}
	}

	start := time.Now()
	for i := range pairMessages {
		id := fmt.Sprintf("pair-%d", i)
		alice.send(map[string]any{"action": "sendmessage", "to": "bob", "message": i, "id": id})
		if ack := alice.nextOf("ack"); ack["id"] != id || ack["status"] != "delivered" {
			t.Fatalf("message %d: ack %v, want delivered", i, ack)
		}
		if m := bob.nextOf("message"); m["from"] != "alice" || m["message"] != float64(i) {
			t.Fatalf("bob got %v, want alice's message %d", m, i)
		}
	}
	elapsed := time.Since(start)
	if n := s.Gateway.ConnectionCount(); n != open {
		t.Errorf("%d connections open after the pair's exchange, want %d: a non-reader was dropped before the pair was done", n, open)
	}
	var delivered, refused int64
	for _, f := range floods {
		if o := f.other.Load(); o != nil {
			t.Errorf("flooder to %s: %v", f.to, o)
		}
		delivered += f.delivered.Load()
		refused += f.refused.Load()
	}
	t.Logf("pair: %d messages in %v (%v each); flood: %d delivered, %d refused", pairMessages, elapsed, elapsed/pairMessages, delivered, refused)
}
