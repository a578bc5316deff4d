package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// stormProfile names a file that receives a CPU profile of the storm window
// alone (from the first close to the last $disconnect), without the
// connecting before it.
var stormProfile = flag.String("storm.cpuprofile", "", "write a CPU profile of BenchmarkDisconnectStorm's storm window to this file")

// stormClients makes the test binary the idle players' process of
// BenchmarkDisconnectStorm instead of running tests (see runStormClients).
var stormClients = flag.Bool("storm.clients", false, "run as BenchmarkDisconnectStorm's idle players' process, driven on stdin")

func TestMain(m *testing.M) {
	flag.Parse()
	if *stormClients {
		if err := runStormClients(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "storm clients:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkDisconnectStorm: 2,000 idle players close their connections at
// the same instant while 20 other players keep messaging each other. It
// reports how long the stack takes to run every $disconnect
// (disconnect-s) and the other players' ack latency during that time
// (storm-ack-p50-ms, storm-ack-p99-ms, over storm-acks messages). The idle
// players run in this process (clients=in-process: their 2,000 closes
// compete with the stack for the same scheduler and cores), or in a child
// process, as a real stack's clients are elsewhere
// (clients=separate-process). Each iteration is a fresh stack; run it once:
//
//	go test -run '^$' -bench DisconnectStorm -benchtime 1x ./e2e
//
// With -storm.cpuprofile FILE it also profiles the storm window.
func BenchmarkDisconnectStorm(b *testing.B) {
	b.Run("clients=in-process", func(b *testing.B) { benchmarkStorm(b, dialInProcess) })
	b.Run("clients=separate-process", func(b *testing.B) { benchmarkStorm(b, dialChildProcess) })
}

// idlePlayers are the storm's connected idle players; closeAll closes every
// one of them at once.
type idlePlayers interface{ closeAll() }

func benchmarkStorm(b *testing.B, dialIdle func(*stack, []string) idlePlayers) {
	const idle, senders = 2000, 20
	for range b.N {
		s := startStack(b, noLimits())
		tokens := make([]string, idle)
		for i := range tokens {
			tokens[i] = s.token(fmt.Sprintf("idle-%d", i), 3600)
		}
		idlers := dialIdle(s, tokens)
		if b.Failed() {
			return
		}
		active := make([]*client, senders)
		for i := range active {
			active[i] = s.dial(fmt.Sprintf("sender-%d", i))
		}

		// The senders message each other, one message in flight each,
		// recording when each ack came and how long it took.
		type ack struct {
			at  time.Time
			lat time.Duration
		}
		var (
			mu   sync.Mutex
			acks []ack
			stop atomic.Bool
			lost atomic.Int64
		)
		var senderWG sync.WaitGroup
		for i, c := range active {
			senderWG.Go(func() {
				to := fmt.Sprintf("sender-%d", (i+1)%senders)
				for n := 0; !stop.Load(); n++ {
					id := fmt.Sprintf("m-%d", n)
					start := time.Now()
					data, _ := json.Marshal(outgoing(to, id, map[string]any{"n": n}))
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					err := c.conn.Write(ctx, websocket.MessageText, data)
					cancel()
					if err != nil || !awaitAck(c, id) {
						lost.Add(1)
						return
					}
					mu.Lock()
					acks = append(acks, ack{at: time.Now(), lat: time.Since(start)})
					mu.Unlock()
				}
			})
		}
		time.Sleep(500 * time.Millisecond) // the senders are flowing

		deletes := func() int64 { return s.DynamoDB.Requests()["DeleteItem"] }
		before := deletes()
		stopProfile := startStormProfile(b)
		stormStart := time.Now()
		idlers.closeAll()
		for deletes()-before < idle {
			if time.Since(stormStart) > time.Minute {
				b.Fatalf("after a minute, %d of %d $disconnect ran", deletes()-before, idle)
			}
			time.Sleep(5 * time.Millisecond)
		}
		stormEnd := time.Now()
		stopProfile()
		stop.Store(true)
		senderWG.Wait()
		if lost.Load() > 0 {
			b.Fatalf("%d messages got no ack", lost.Load())
		}

		var during []time.Duration
		for _, a := range acks {
			if a.at.After(stormStart) && !a.at.After(stormEnd) {
				during = append(during, a.lat)
			}
		}
		slices.Sort(during)
		b.ReportMetric(stormEnd.Sub(stormStart).Seconds(), "disconnect-s")
		b.ReportMetric(float64(len(during)), "storm-acks")
		if len(during) > 0 {
			b.ReportMetric(ms(during[len(during)/2]), "storm-ack-p50-ms")
			b.ReportMetric(ms(during[min(len(during)-1, len(during)*99/100)]), "storm-ack-p99-ms")
		}
	}
}

// awaitAck reads c's frames until the ack of id; false if none comes
// within 30 s or the connection ends. Other frames (messages) are skipped.
func awaitAck(c *client, id string) bool {
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case f := <-c.frames:
			if f["type"] == "ack" && f["id"] == id {
				return true
			}
			if f["type"] == "error" && f["id"] == id {
				return false
			}
		case <-c.done:
			return false
		case <-timeout.C:
			return false
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// inProcess are idle players dialled in this process.
type inProcess []*client

func dialInProcess(s *stack, tokens []string) idlePlayers {
	idlers := make(inProcess, len(tokens))
	dialEach(len(tokens), func(i int) {
		c, status, err := s.dialToken(tokens[i])
		if err != nil {
			s.t.Errorf("dial idle-%d: %d %v", i, status, err)
			return
		}
		idlers[i] = c
	})
	return idlers
}

func (p inProcess) closeAll() {
	for _, c := range p {
		go c.conn.Close(websocket.StatusNormalClosure, "")
	}
}

// childProcess are idle players dialled by a child process, this test
// binary run with -storm.clients.
type childProcess struct {
	stdin io.WriteCloser
}

// dialChildProcess starts the child, hands it one WebSocket URL per token
// and waits until it has connected them all. The child ends when the
// benchmark does.
func dialChildProcess(s *stack, tokens []string) idlePlayers {
	cmd := exec.Command(os.Args[0], "-storm.clients")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			s.t.Errorf("idle players' process: %v", err)
		}
	})
	w := bufio.NewWriter(stdin)
	for _, token := range tokens {
		fmt.Fprintln(w, s.wsURL(token))
	}
	fmt.Fprintln(w)
	if err := w.Flush(); err != nil {
		s.t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		s.t.Fatalf("idle players' process answered %q, %v; want ready", line, err)
	}
	return childProcess{stdin: stdin}
}

func (p childProcess) closeAll() {
	if _, err := io.WriteString(p.stdin, "close\n"); err != nil {
		panic(fmt.Sprintf("idle players' process: %v", err))
	}
}

// runStormClients is the idle players' process: it reads WebSocket URLs, one
// a line, up to an empty line, connects each (16 at a time), writes "ready",
// and on the line "close" closes every connection at once, then returns
// when all are closed.
func runStormClients(in io.Reader, out io.Writer) error {
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 64<<10), 64<<10)
	var urls []string
	for lines.Scan() && lines.Text() != "" {
		urls = append(urls, lines.Text())
	}
	conns := make([]*websocket.Conn, len(urls))
	errs := make(chan error, len(urls))
	dialEach(len(urls), func(i int) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, urls[i], nil)
		if err != nil {
			errs <- fmt.Errorf("dial %d: %w", i, err)
			return
		}
		conns[i] = c
	})
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	if !lines.Scan() || lines.Text() != "close" {
		return fmt.Errorf("want the line close, got %q (%v)", lines.Text(), lines.Err())
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { _ = c.Close(websocket.StatusNormalClosure, "") })
	}
	wg.Wait()
	return nil
}

// dialEach runs dial(i) for every i below n, 16 at a time, and returns when
// all have returned.
func dialEach(n int, dial func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			dial(i)
		})
	}
	wg.Wait()
}

// startStormProfile starts the -storm.cpuprofile profile, if asked for, and
// returns the function that ends it.
func startStormProfile(b *testing.B) func() {
	if *stormProfile == "" {
		return func() {}
	}
	f, err := os.Create(*stormProfile)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}
