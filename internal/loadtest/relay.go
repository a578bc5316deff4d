package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/loadtest/relay"
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
	shutdown := serve(&http.Server{Handler: relay.New(), ReadHeaderTimeout: 10 * time.Second}, ln)
	fmt.Fprintf(stdout, "raw relay at http://%s (no auth, no store); Ctrl-C stops it\n", ln.Addr())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return shutdown(sctx)
}

// serve serves srv on ln until the returned func shuts it down.
func serve(srv *http.Server, ln net.Listener) (shutdown func(context.Context) error) {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}
}
