// Command client is a terminal client for the local stack: it fetches a
// development token for a player, connects, prints every frame it receives
// and sends what you type. It asks for the player's inbox as it connects, a
// line that is none of the forms below is not sent (it says how to type
// one), a refused connect says the server's reason, and Ctrl-C closes the
// connection with a close frame (1000).
//
//	go run ./cmd/client -player alice
//	> @bob hello                  sendmessage to bob with the message "hello"
//	> {"action":"presence","players":["bob"]}   any JSON line is sent as is
//	> /inbox  /ping  /presence bob carol        shortcuts
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/serverless-websockets/serverless-websockets/internal/wsclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "the local stack")
	player := fs.String("player", "", "player id (required)")
	token := fs.String("token", "", "use this token instead of asking /dev/token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *player == "" && *token == "" {
		return errors.New("-player is required")
	}
	if *token == "" {
		t, err := wsclient.DevToken(ctx, http.DefaultClient, *base, *player)
		if err != nil {
			return err
		}
		*token = t
	}
	wsURL := wsclient.StackURL(*base) + "?token=" + url.QueryEscape(*token)
	var outMu sync.Mutex // the reader and the typist both print
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, format, args...)
	}
	show := func(_ wsclient.Frame, data []byte) { say("< %s\n", data) }
	conn, status, err := wsclient.Dial(ctx, wsURL, wsclient.Options{
		OnMessage:   func(f wsclient.Frame) { show(f, f.Raw) },
		OnUnmatched: show,
	})
	if err != nil {
		if status != 0 {
			return err // the refusal, with the server's reason
		}
		return fmt.Errorf("connect to %s: %v", strings.SplitN(wsURL, "?", 2)[0], stripURL(err)) // never print the token
	}
	defer conn.Socket().CloseNow()
	const usage = "type @player text, /inbox, /ping, /presence p1 p2, or a JSON frame"
	say("connected as %s; %s\n", *player, usage)
	// What was queued while this player was away comes first.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = conn.Write(wctx, mustJSON(map[string]any{"action": "inbox", "id": "inbox"}))
	cancel()
	if err != nil {
		return fmt.Errorf("ask for the inbox: %w", err)
	}

	go func() {
		sc := bufio.NewScanner(in)
		seq := 0
		for sc.Scan() {
			frame, ok := parseLine(sc.Text(), &seq)
			if !ok {
				if strings.TrimSpace(sc.Text()) != "" {
					say("not sent: %s\n", usage)
				}
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Write(wctx, frame)
			cancel()
			if err != nil {
				return
			}
		}
		conn.Close()
	}()
	select {
	case <-ctx.Done():
		// Ctrl-C: close with a close frame (1000), not a dropped socket.
		_ = conn.Close()
		return ctx.Err()
	case <-conn.Done():
	}
	if code := websocket.CloseStatus(conn.Err()); code != -1 {
		say("closed: %v\n", code)
		return nil
	}
	return conn.Err()
}

// parseLine turns a typed line into a frame.
func parseLine(line string, seq *int) ([]byte, bool) {
	line = strings.TrimSpace(line)
	*seq++
	id := fmt.Sprintf("c-%d", *seq)
	switch {
	case line == "":
		return nil, false
	case strings.HasPrefix(line, "{"):
		return []byte(line), true
	case strings.HasPrefix(line, "@"):
		to, text, _ := strings.Cut(line[1:], " ")
		return mustJSON(map[string]any{"action": "sendmessage", "to": to, "message": text, "id": id}), true
	case line == "/inbox":
		return mustJSON(map[string]any{"action": "inbox", "id": id}), true
	case line == "/ping":
		return mustJSON(map[string]any{"action": "ping", "id": id}), true
	case strings.HasPrefix(line, "/presence"):
		players := strings.Fields(strings.TrimPrefix(line, "/presence"))
		if players == nil {
			players = []string{}
		}
		return mustJSON(map[string]any{"action": "presence", "players": players, "id": id}), true
	}
	return nil, false // not a frame: run says how to type one
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// stripURL returns the cause of err without the URL, which holds the token.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
