package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/relay"
)

// serveRelay serves the raw relay (package relay) on addr until ctx ends.
// It is the floor the stack's cost is compared with: run it, then measure it
// like a running stack,
//
//	go run ./cmd/loadtest -serve-relay 127.0.0.1:8090 &
//	go run ./cmd/loadtest -url http://127.0.0.1:8090 -players 100 -messages 40
//
// with the relay's own CPU read from /proc (scripts/scale does both).
func serveRelay(ctx context.Context, addr string, stdout io.Writer) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-serve-relay: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-serve-relay %s: want a loopback address such as 127.0.0.1:8090", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: relay.New(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "raw relay at http://%s (no auth, no store); Ctrl-C stops it\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
