package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/poll"
	"github.com/serverless-websockets/serverless-websockets/internal/wsclient"
)

// The no-loss run's shape.
const (
	lossSeed         = 20240611
	lossPlayers      = 50
	lossSends        = 20 // messages each player sends
	lossReconnecting = 10 // players who disconnect and come back in the middle
	lossHotShare     = 2  // one send in lossHotShare goes to a reconnecting player
)

// recorder keeps every message frame a player's connections read.
type recorder struct {
	mu     sync.Mutex
	frames []frame
}

func (r *recorder) add(f frame) {
	r.mu.Lock()
	r.frames = append(r.frames, f)
	r.mu.Unlock()
}

func (r *recorder) all() []frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.frames)
}

// recordingClient is a WebSocket client that hands every message frame to a
// recorder as soon as it is read, and every other frame (the replies to its
// own requests) to replies. It leaves by sending its close frame on the raw
// socket and reading on until the server's close frame: unlike
// websocket.Conn.Close, which discards the data frames it reads while
// waiting for the peer's close, nothing the server wrote before its close
// frame goes unread.
type recordingClient struct {
	*wsclient.Conn
	raw   net.Conn
	stray error // a reply nobody waited for; read after Done
}

// dialRecording dials with the client's socket wrapped by wrap (nil: as is).
func dialRecording(url string, rec *recorder, wrap func(net.Conn) net.Conn) (*recordingClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &recordingClient{}
	httpClient := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil && wrap != nil {
			nc = wrap(nc)
		}
		c.raw = nc
		return nc, err
	}}}
	ws, _, err := wsclient.Dial(ctx, url, wsclient.Options{
		HTTPClient: httpClient,
		OnMessage:  func(f wsclient.Frame) { rec.add(decodeFrame(f.Raw)) },
		OnUnmatched: func(_ wsclient.Frame, data []byte) {
			c.stray = fmt.Errorf("frame %s arrived with no request waiting", data)
		},
	})
	if err != nil {
		return nil, err
	}
	c.Conn = ws
	return c, nil
}

// request writes v, whose "id" is a string, and returns the reply.
func (c *recordingClient) request(v map[string]any) (frame, error) {
	id, _ := v["id"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, _, err := c.Request(ctx, id, v, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", id, err)
	}
	return decodeFrame(f.Raw), nil
}

// leave sends a close frame (1000) and reads until the server's close frame
// ends the read loop.
func (c *recordingClient) leave() error {
	payload := []byte{byte(websocket.StatusNormalClosure >> 8), byte(websocket.StatusNormalClosure & 0xff)}
	m := rand.Uint32() // the masking key every client frame carries
	key := [4]byte{byte(m), byte(m >> 8), byte(m >> 16), byte(m >> 24)}
	closeFrame := []byte{0x88, 0x80 | byte(len(payload)), key[0], key[1], key[2], key[3]}
	for i, b := range payload {
		closeFrame = append(closeFrame, b^key[i%4])
	}
	if _, err := c.raw.Write(closeFrame); err != nil {
		return fmt.Errorf("write close frame: %w", err)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		return errors.New("the server did not close within 10 s")
	}
	_ = c.Socket().CloseNow()
	if code := websocket.CloseStatus(c.Err()); code != websocket.StatusNormalClosure {
		return fmt.Errorf("closed with %v (%v), want 1000", code, c.Err())
	}
	return c.stray
}

// lossAck is one acknowledged send.
type lossAck struct {
	from, to string
	seq      int
	status   string
}

// lossPlayer is one player of the run: its recorder outlives its
// connections.
type lossPlayer struct {
	name        string
	token       string
	hot         bool  // reconnects in the middle
	leaveBefore []int // the sends before which it leaves and comes back
	rec         recorder
	conn        *recordingClient

	acks           map[string]lossAck // by messageId
	inboxDelivered int
	reconnects     int
}

// TestNoMessageLost: 50 players each send 20 messages to random players,
// all at once, while 10 of them leave and come back at random points. Every
// send is acknowledged, delivered or queued, and every acknowledged message
// reaches its recipient exactly once, live or through the inbox; nothing
// else arrives.
func TestNoMessageLost(t *testing.T) {
	s := startStack(t, noLimits())
	rng := rand.New(rand.NewPCG(lossSeed, 0))

	players := make([]*lossPlayer, lossPlayers)
	var hot []string
	for i := range players {
		p := &lossPlayer{name: fmt.Sprintf("player-%02d", i), acks: map[string]lossAck{}}
		p.token = s.token(p.name, 3600)
		players[i] = p
	}
	for _, i := range rng.Perm(lossPlayers)[:lossReconnecting] {
		p := players[i]
		p.hot = true
		hot = append(hot, p.name)
		// Once or twice, before a send other than the first.
		for range 1 + rng.IntN(2) {
			if k := 1 + rng.IntN(lossSends-1); !slices.Contains(p.leaveBefore, k) {
				p.leaveBefore = append(p.leaveBefore, k)
			}
		}
	}
	for _, p := range players {
		c, err := dialRecording(s.wsURL(p.token), &p.rec, nil)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		p.conn = c
	}
	t.Cleanup(func() {
		for _, p := range players {
			if p.conn != nil {
				_ = p.conn.Socket().CloseNow()
			}
		}
	})

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i, p := range players {
		prng := rand.New(rand.NewPCG(lossSeed, uint64(i)+1))
		wg.Go(func() {
			if err := p.run(s, prng, players, hot); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	// Everyone is connected again; each drains its mailbox.
	for _, p := range players {
		for round := 0; ; round++ {
			n, err := p.inbox()
			if err != nil {
				t.Fatalf("%s: final inbox: %v", p.name, err)
			}
			if n == 0 {
				break
			}
			if round == 10 {
				t.Fatalf("%s: the inbox still delivers after %d rounds", p.name, round)
			}
		}
	}

	// Every acknowledged message arrived once, at its recipient, as sent.
	acked := map[string]lossAck{}
	var delivered, queued, inboxDelivered, reconnects int
	for _, p := range players {
		for id, a := range p.acks {
			if _, dup := acked[id]; dup {
				t.Fatalf("message id %s acknowledged twice", id)
			}
			acked[id] = a
			if a.status == protocol.StatusQueued {
				queued++
			} else {
				delivered++
			}
		}
		inboxDelivered += p.inboxDelivered
		reconnects += p.reconnects
	}
	if len(acked) != lossPlayers*lossSends {
		t.Fatalf("%d sends acknowledged, want %d", len(acked), lossPlayers*lossSends)
	}
	seen := map[string]int{}
	var missing, dups, strays []string
	for _, p := range players {
		for _, f := range p.rec.all() {
			id, _ := f["id"].(string)
			seen[id]++
			a, ok := acked[id]
			if !ok {
				strays = append(strays, fmt.Sprintf("%s got unacknowledged %v", p.name, f))
				continue
			}
			want := frame{"type": "message", "id": id, "from": a.from, "sentAt": f["sentAt"],
				"message": map[string]any{"from": a.from, "seq": float64(a.seq)}}
			if a.to != p.name || !reflect.DeepEqual(f, want) {
				strays = append(strays, fmt.Sprintf("%s got %v, want %v for %s", p.name, f, want, a.to))
			}
		}
	}
	for id, a := range acked {
		switch seen[id] {
		case 1:
		case 0:
			missing = append(missing, fmt.Sprintf("%s (%s→%s #%d, %s)", id, a.from, a.to, a.seq, a.status))
		default:
			dups = append(dups, fmt.Sprintf("%s ×%d (%s→%s #%d, %s)", id, seen[id], a.from, a.to, a.seq, a.status))
		}
	}
	slices.Sort(missing)
	slices.Sort(dups)
	if len(missing)+len(dups)+len(strays) > 0 {
		t.Fatalf("%d acknowledged messages never received: %v\n%d received more than once: %v\n%d wrong or unacknowledged: %v",
			len(missing), missing, len(dups), dups, len(strays), strays)
	}

	// The handlers' counters tell the same story.
	if n := s.Metrics.Count(metrics.Sent); n != int64(len(acked)) {
		t.Errorf("messages_sent_total %d, want %d", n, len(acked))
	}
	if n := s.Metrics.Count(metrics.Queued); n != int64(queued) {
		t.Errorf("messages_queued_total %d, want %d queued acks", n, queued)
	}
	if inboxDelivered != queued {
		t.Errorf("the inbox handed over %d messages, %d were queued", inboxDelivered, queued)
	}
	if n := s.Metrics.Count(metrics.Delivered); n != int64(delivered+inboxDelivered) {
		t.Errorf("messages_delivered_total %d, want %d live + %d from the inbox", n, delivered, inboxDelivered)
	}
	// The run went through the paths it is meant to cover.
	if queued == 0 || delivered == 0 || reconnects < lossReconnecting {
		t.Errorf("%d delivered, %d queued, %d reconnections: the run did not mix live and offline delivery", delivered, queued, reconnects)
	}
	t.Logf("%d messages: %d delivered live, %d queued and handed over by the inbox; %d reconnections; %d stale rows found",
		len(acked), delivered, queued, reconnects, s.Metrics.Count(metrics.Gone))
}

// run sends the player's messages one at a time, each to a random other
// player (every lossHotShare-th to a reconnecting one), waiting for each
// ack; it leaves and comes back before the sends in p.leaveBefore.
func (p *lossPlayer) run(s *stack, rng *rand.Rand, players []*lossPlayer, hot []string) error {
	for seq := range lossSends {
		if slices.Contains(p.leaveBefore, seq) {
			if err := p.reconnect(s, rng); err != nil {
				return err
			}
		}
		to := p.name
		for to == p.name {
			if rng.IntN(lossHotShare) == 0 {
				to = hot[rng.IntN(len(hot))]
			} else {
				to = players[rng.IntN(len(players))].name
			}
		}
		id := fmt.Sprintf("%s-%d", p.name, seq)
		f, err := p.conn.request(outgoing(to, id, map[string]any{"from": p.name, "seq": seq}))
		if err != nil {
			return err
		}
		msgID, _ := f["messageId"].(string)
		status, _ := f["status"].(string)
		switch {
		case f["type"] != protocol.TypeAck || f["id"] != id || msgID == "":
			return fmt.Errorf("send %d: reply %v", seq, f)
		case status == protocol.StatusDelivered && f["connections"] == float64(1):
		case status == protocol.StatusQueued && f["connections"] == float64(0):
		default:
			return fmt.Errorf("send %d: ack %v", seq, f)
		}
		p.acks[msgID] = lossAck{from: p.name, to: to, seq: seq, status: status}
	}
	return nil
}

// reconnect leaves, stays away until a message has been queued for the
// player (or a second has passed), and connects again; half the time it
// asks for its inbox at once, while messages keep arriving.
func (p *lossPlayer) reconnect(s *stack, rng *rand.Rand) error {
	if err := p.conn.leave(); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	var peekErr error
	poll.Within(time.Second, func() bool {
		queued, err := s.Store.Inbox(context.Background(), p.name, 1)
		peekErr = err
		return err != nil || len(queued) > 0
	})
	if peekErr != nil {
		return fmt.Errorf("peek at the mailbox: %w", peekErr)
	}
	c, err := dialRecording(s.wsURL(p.token), &p.rec, nil)
	if err != nil {
		return fmt.Errorf("reconnect: %w", err)
	}
	old := p.conn
	p.conn = c
	_ = old.Socket().CloseNow()
	p.reconnects++
	if rng.IntN(2) == 0 {
		if _, err := p.inbox(); err != nil {
			return fmt.Errorf("inbox after reconnecting: %w", err)
		}
	}
	return nil
}

// inbox asks for the player's inbox once and returns how many messages it
// handed over.
func (p *lossPlayer) inbox() (int, error) {
	f, err := p.conn.request(map[string]any{"action": "inbox", "id": "inbox"})
	if err != nil {
		return 0, err
	}
	n, ok := f["delivered"].(float64)
	if f["type"] != protocol.TypeInbox || !ok {
		return 0, fmt.Errorf("inbox reply %v", f)
	}
	p.inboxDelivered += int(n)
	return int(n), nil
}

// gatedConn holds back what the client writes while held.
type gatedConn struct {
	net.Conn
	mu    sync.Mutex
	held  bool
	bytes []byte
}

func (g *gatedConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held {
		g.bytes = append(g.bytes, p...)
		return len(p), nil
	}
	return g.Conn.Write(p)
}

func (g *gatedConn) hold() {
	g.mu.Lock()
	g.held = true
	g.mu.Unlock()
}

func (g *gatedConn) holding() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.bytes)
}

func (g *gatedConn) release() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = false
	_, err := g.Conn.Write(g.bytes)
	g.bytes = nil
	return err
}

// TestDeliveryWhileClientCloses pins down what "delivered" means while a
// client is leaving: bob has sent his close frame, but it has not reached
// the server yet, so a message to him is posted to his socket and
// acknowledged delivered — and it is nowhere else (not queued). Bob gets it
// only because he reads until the server's close frame; a client that stops
// reading once it has sent its close (websocket.Conn.Close discards such
// frames; browsers drop messages after close()) loses it. Once the server
// has the close frame, the next message is queued.
func TestDeliveryWhileClientCloses(t *testing.T) {
	s := startStack(t)
	alice := s.dial("alice")
	var (
		rec  recorder
		gate *gatedConn
	)
	bob, err := dialRecording(s.wsURL(s.token("bob", 3600)), &rec, func(c net.Conn) net.Conn {
		gate = &gatedConn{Conn: c}
		return gate
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bob.Socket().CloseNow() })

	gate.hold()
	left := make(chan error, 1)
	go func() { left <- bob.leave() }()
	poll.Until(t, "bob's close frame is written (and held back)", func() bool { return gate.holding() > 0 })

	alice.sendTo("bob", "last words", "last")
	id := alice.wantAck("last", protocol.StatusDelivered, 1)
	if err := gate.release(); err != nil {
		t.Fatalf("release bob's close frame: %v", err)
	}
	if err := <-left; err != nil {
		t.Fatalf("bob leaving: %v", err)
	}
	got := rec.all()
	if len(got) != 1 || got[0]["id"] != id || got[0]["message"] != "last words" {
		t.Fatalf("bob read %v, want message %s", got, id)
	}
	if queued, err := s.Store.Inbox(context.Background(), "bob", 10); err != nil || len(queued) != 0 {
		t.Fatalf("bob's mailbox: %v, %v; want empty", queued, err)
	}

	alice.sendTo("bob", "are you there?", "after")
	id = alice.wantAck("after", protocol.StatusQueued, 0)
	poll.Until(t, "bob's row is deleted", func() bool { return len(s.connections("bob")) == 0 })
	if queued, err := s.Store.Inbox(context.Background(), "bob", 10); err != nil || len(queued) != 1 || queued[0].ID != id {
		t.Fatalf("bob's mailbox: %v, %v; want message %s", queued, err, id)
	}
}
