// Command local runs the whole serverless-websockets system on one machine:
// the local gateway playing API Gateway (WebSocket API and Management API),
// the same handlers that run in Lambda, an embedded DynamoDB engine and a
// development token issuer.
//
//	go run ./cmd/local                       # listens on 127.0.0.1:8080
//	go run ./cmd/local -addr 127.0.0.1:9000
//	AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 go run ./cmd/local
//	go run ./cmd/local -aws-latency 5ms     # every DynamoDB and Management API request takes 5 ms more
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/config"
	"github.com/serverless-websockets/serverless-websockets/internal/local"
	"github.com/serverless-websockets/serverless-websockets/internal/local/wsgateway"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		// -h printed the flags; asking for help is not a failure.
	case err != nil:
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

// run parses flags, starts the stack and serves until ctx is done, then
// closes every client (running each $disconnect) and stops.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	endpoint := fs.String("dynamodb-endpoint", getenv("AWS_ENDPOINT_URL_DYNAMODB"), "external DynamoDB engine URL (default: AWS_ENDPOINT_URL_DYNAMODB, the SDK's own variable; unset: embedded minidyn)")
	idle := fs.Duration("idle-timeout", 10*time.Minute, "close connections idle this long (API Gateway: 10m)")
	maxDuration := fs.Duration("max-connection-duration", 2*time.Hour, "close connections this old (API Gateway: 2h)")
	latency := fs.Duration("aws-latency", 0, "add this delay to every DynamoDB and Management API request the handlers make, modelling AWS round trips (e.g. 5ms)")
	overHTTP := fs.Bool("management-over-http", false, "the handlers post to connections through the AWS SDK and signed HTTP requests to /@connections, as in AWS (default: in process)")
	origins := fs.String("allow-origin", "", "comma-separated web origins, besides every loopback origin, whose pages may call /dev/token and the admin API (CORS), e.g. http://192.168.1.20:5173")
	webDir := fs.String("web", "", "serve this folder at / instead of the embedded web client")
	dataDir := fs.String("data", "", "keep the development signing key and the embedded engine's mailboxes, bans and rate limits in this folder across restarts (default: keep nothing)")
	functionTimeout := fs.Duration("function-timeout", wsgateway.DefaultFunctionTimeout, "bound every handler invocation, like a Lambda function timeout (the SAM template's: 10s)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	cfg, err := config.Load(getenv, 0) // the stack's own settings are checked again as it starts
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	stack, err := local.New(ctx, local.Options{
		BaseURL:            base,
		Getenv:             getenv,
		DynamoDBEndpoint:   *endpoint,
		Gateway:            wsgateway.Config{IdleTimeout: *idle, MaxConnectionDuration: *maxDuration, FunctionTimeout: *functionTimeout},
		AWSLatency:         *latency,
		ManagementOverHTTP: *overHTTP,
		AllowedOrigins:     splitList(*origins),
		WebDir:             *webDir,
		DataDir:            *dataDir,
		Logger:             logger,
	})
	if err != nil {
		ln.Close()
		return err
	}
	// WebSocket connections are hijacked and keep their own deadlines;
	// these bound everything else (slow or idle HTTP clients).
	srv := &http.Server{Handler: stack.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	if ip := net.ParseIP(ln.Addr().(*net.TCPAddr).IP.String()); ip != nil && !ip.IsLoopback() {
		logger.Warn("listening beyond loopback: anyone who reaches this address can mint development tokens and knows the Management API's default credentials", "addr", ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	printBanner(stdout, base, stack)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: closing every connection")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	gwErr := stack.Shutdown(shutdownCtx)
	// Every client is gone and every $disconnect has run. What is left are
	// idle keep-alive connections (the handlers' own Management API client
	// opens some it never uses, which Shutdown would wait 5 s for): give
	// in-flight requests a moment, then close the rest.
	httpCtx, cancelHTTP := context.WithTimeout(shutdownCtx, time.Second)
	defer cancelHTTP()
	if err := srv.Shutdown(httpCtx); errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return gwErr
}

func printBanner(w io.Writer, base string, s *local.Stack) {
	ws := "ws" + base[len("http"):]
	fmt.Fprintf(w, "serverless-websockets local stack\n")
	fmt.Fprintf(w, "  Web client      %s/\n", base)
	fmt.Fprintf(w, "  WebSocket       %s/ws?token=TOKEN\n", ws)
	fmt.Fprintf(w, "  Management API  %s/@connections/{connectionId}  (SigV4, access key %q)\n", base, s.Creds.AccessKeyID)
	if s.Issuer != nil {
		fmt.Fprintf(w, "  Dev tokens      POST %s/dev/token\n", base)
		fmt.Fprintf(w, "  JWKS            %s/.well-known/jwks.json\n", base)
	} else {
		fmt.Fprintf(w, "  Tokens          from %s (JWKS %s)\n", s.Auth.Issuer, s.Auth.JWKSURL)
	}
	fmt.Fprintf(w, "  Admin API       %s/admin/...  (Bearer token in group %q)\n", base, s.Config.AdminGroup)
	fmt.Fprintf(w, "  Metrics         %s/metrics\n", base)
	fmt.Fprintf(w, "  DynamoDB        %s\n", s.Engine)
	fmt.Fprintf(w, "  Limits          %s\n", limitsLine(s))
	if s.Issuer != nil {
		fmt.Fprintf(w, "\nGet a token:\n  curl -s -X POST %s/dev/token -d '{\"playerId\":\"alice\"}'\n", base)
	}
	fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
}

// splitList reads a comma-separated flag: its items, trimmed, none empty.
func splitList(s string) []string {
	var out []string
	for _, it := range strings.Split(s, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// limitsLine is the limits in force, in one line of the banner.
func limitsLine(s *local.Stack) string {
	l, c := s.Limits, s.Config
	rate := func(what string, r float64, burst int64, per string) string {
		if r <= 0 || burst <= 0 {
			return what + " off"
		}
		return fmt.Sprintf("%s %g/%s (burst %d)", what, r, per, burst)
	}
	return strings.Join([]string{
		rate("messages", l.Messages.Rate, l.Messages.Burst, "s"),
		rate("bytes", l.Bytes.Rate, l.Bytes.Burst, "s"),
		rate("connects", l.Connects.Rate*60, l.Connects.Burst, "min"),
		fmt.Sprintf("%d connections a player", c.MaxConnectionsPerPlayer),
		fmt.Sprintf("messages up to %d bytes", c.MaxMessageBytes),
	}, ", ")
}
