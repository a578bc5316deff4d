// Package local assembles the whole system in one process: the local
// gateway playing API Gateway, the very handlers that run in Lambda, an
// embedded DynamoDB engine (minidyn, one instance per partition: package
// minidynrouter) or an external one, the development
// token issuer and its JWKS, and the Management API the handlers reach
// through the real AWS SDK. cmd/local runs it; the end-to-end tests start it
// on an httptest server.
package local

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/smithy-go/middleware"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
	"github.com/serverless-websockets/serverless-websockets/internal/admin"
	"github.com/serverless-websockets/serverless-websockets/internal/app"
	"github.com/serverless-websockets/serverless-websockets/internal/app/tokens"
	"github.com/serverless-websockets/serverless-websockets/internal/awsclients"
	"github.com/serverless-websockets/serverless-websockets/internal/cognito"
	"github.com/serverless-websockets/serverless-websockets/internal/config"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/handlers"
	"github.com/serverless-websockets/serverless-websockets/internal/local/apigateway"
	"github.com/serverless-websockets/serverless-websockets/internal/local/devissuer"
	"github.com/serverless-websockets/serverless-websockets/internal/local/httpapi"
	"github.com/serverless-websockets/serverless-websockets/internal/local/minidynrouter"
	"github.com/serverless-websockets/serverless-websockets/internal/local/wsgateway"
	"github.com/serverless-websockets/serverless-websockets/internal/managementapi"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
	"github.com/serverless-websockets/serverless-websockets/ratelimit"
	"github.com/serverless-websockets/serverless-websockets/web"
)

// Table names used locally.
const (
	ConnectionsTable = "connections"
	MailboxTable     = "mailbox"
	RateLimitTable   = "rate-limits"
	BansTable        = "bans"
	// DevClientID is the client_id of development tokens.
	DevClientID = "local-client"
)

// Options configure a Stack. Zero values take the documented defaults.
type Options struct {
	// BaseURL is where the stack is reached, e.g. http://127.0.0.1:8080.
	// Required: it is the dev issuer's iss and the Management API endpoint.
	BaseURL string
	// Getenv reads the environment (JWT_*, RATE_*, MAX_*, MAILBOX_*,
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, LOG_LEVEL). Default: nothing set.
	Getenv func(string) string
	// DynamoDBEndpoint selects an external engine (tables are created if
	// absent); empty embeds minidyn through a minidynrouter.Router.
	DynamoDBEndpoint string
	// DynamoDB, when set, is the engine's client, used instead of minidyn
	// or DynamoDBEndpoint (tests use it to freeze or empty the engine).
	DynamoDB DynamoDB
	// Gateway tunes the local gateway (limits, timeouts); its Authorizer,
	// Routes, credentials and Logger are set by the stack.
	Gateway wsgateway.Config
	// AWSLatency models the round trip to AWS: it is added to every
	// DynamoDB request and every Management API request the handlers make
	// (0, the default: none).
	AWSLatency time.Duration
	// ManagementOverHTTP makes the handlers reach the gateway's
	// connections as the functions reach API Gateway's: through the AWS
	// SDK, with SigV4-signed HTTP requests to this stack's /@connections.
	// By default (false) they call the gateway in process, behind the same
	// Sender, which costs a post a function call instead of an HTTP round
	// trip.
	ManagementOverHTTP bool
	// AllowedOrigins are the web origins, besides every loopback origin,
	// whose pages may call /dev/token, the JWKS and the admin API (CORS),
	// e.g. "http://192.168.1.20:5173".
	AllowedOrigins []string
	// WebDir, when set, is a folder served at / in place of the embedded
	// web client (package web), with the same headers.
	WebDir string
	// DataDir, when set, keeps what a restart would lose: the development
	// issuer's signing key (so tokens of an earlier run still verify), and,
	// with the embedded engine, the mailboxes, bans and rate limits, saved
	// at Shutdown and loaded at New. Connections are never kept: a restart
	// closes them all. Empty: nothing is kept.
	DataDir string
	// Now is the clock of the handlers and limiter; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger // default: discard
}

// DynamoDB is what the stack's adapters need of a DynamoDB client.
type DynamoDB interface {
	dynamo.API
	dynamo.TableAPI
	ratelimit.API
}

// Stack is the running local system.
type Stack struct {
	Handler  http.Handler        // everything, mounted on one mux
	Gateway  *wsgateway.Gateway  // the local API Gateway
	Issuer   *devissuer.Issuer   // nil when an external issuer is trusted
	Metrics  *metrics.Counters   // what /metrics shows
	Store    *dynamo.Store       // the connections and mailbox tables
	DynamoDB *CountingDynamoDB   // the engine's client, counting requests
	Tables   *RecreatingDynamoDB // what DynamoDB counts: recreates lost tables
	Config   config.Config       // the handlers' settings
	Creds    aws.Credentials     // what /@connections accepts
	Limits   ratelimit.Config    // the rate limits in force
	Engine   string              // "embedded minidyn …" or the external endpoint
	Auth     *authorizer.Config  // the token rules in force
	Admin    *admin.Handler      // the admin API's handler (its Accounts may be set by tests)

	keep    DynamoDB // the embedded engine, saved to dataDir at Shutdown; nil: nothing to save
	dataDir string
}

// New builds the stack. It does not listen: serve s.Handler.
func New(ctx context.Context, o Options) (*Stack, error) {
	if o.BaseURL == "" {
		return nil, errors.New("local: BaseURL is required")
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Logger = cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	cfg, err := config.Load(getenv, 0)
	if err != nil {
		return nil, err
	}
	cfg.ConnectionsTable, cfg.MailboxTable, cfg.RateLimitTable = ConnectionsTable, MailboxTable, RateLimitTable
	cfg.ManagementEndpoint = o.BaseURL
	if d := o.Gateway.MaxConnectionDuration; d > 0 && cfg.ConnectionTTL < d+10*time.Minute {
		// A row must outlive the longest connection, or a connected player
		// would count as offline.
		cfg.ConnectionTTL = d + 10*time.Minute
	}
	cfg.BansTable = BansTable

	s := &Stack{Metrics: metrics.NewCounters(), Config: cfg}
	s.Creds = aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}
	switch id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); {
	case id != "" && secret != "":
		s.Creds = aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	case id != "" || secret != "":
		return nil, errors.New("local: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (local/local)")
	}

	// DynamoDB: the engine, behind the table recreation, behind the count.
	var engine DynamoDB
	switch {
	case o.DynamoDB != nil:
		engine, s.Engine = o.DynamoDB, "injected client"
	case o.DynamoDBEndpoint != "":
		client, err := NewDynamoDBClient(ctx, o.DynamoDBEndpoint, cfg.Region)
		if err != nil {
			return nil, err
		}
		engine, s.Engine = client, o.DynamoDBEndpoint
	default:
		engine, s.Engine = minidynrouter.New(), "embedded minidyn (one instance per partition)"
	}
	tables := dynamo.Tables{Connections: ConnectionsTable, Mailbox: MailboxTable, Bans: BansTable}
	createTables := func(ctx context.Context) error {
		if err := dynamo.CreateTables(ctx, engine, tables); err != nil {
			return err
		}
		return dynamo.EnsureTable(ctx, engine, ratelimit.TableInput(RateLimitTable))
	}
	if err := createTables(ctx); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("local: data directory: %w", err)
		}
		s.dataDir = o.DataDir
		if o.DynamoDB == nil && o.DynamoDBEndpoint == "" {
			if err := loadTables(ctx, engine, o.DataDir); err != nil {
				return nil, fmt.Errorf("local: data directory: %w", err)
			}
			s.keep = engine
		}
	}
	s.Tables = newRecreatingDynamoDB(engine, createTables, o.Logger)
	s.DynamoDB = NewCountingDynamoDB(s.Tables)
	s.DynamoDB.Latency = o.AWSLatency

	// Tokens: the dev issuer, unless an external issuer is configured.
	mux := http.NewServeMux()
	cors := corsPolicy{origins: o.AllowedOrigins}
	authCfg, err := s.tokenConfig(getenv, o.BaseURL, mux, cors, o.Logger)
	if err != nil {
		return nil, err
	}
	s.Auth = &authCfg
	if authCfg.PlayerIDClaim != "" {
		// The admin API names its caller by the claim $connect reads,
		// which for ID tokens defaults to cognito:username.
		cfg.PlayerIDClaim = authCfg.PlayerIDClaim
	}
	authHandler, verifier, err := tokens.Authorizer(ctx, authCfg, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}

	// The Management API the handlers use: the gateway in process, or the
	// real SDK, signed with the local credentials, against this very stack.
	inProcess := &inProcessManagementAPI{latency: o.AWSLatency}
	var mgmt managementapi.API = inProcess
	if o.ManagementOverHTTP {
		mgmt = apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
			BaseEndpoint: aws.String(o.BaseURL),
			Region:       cfg.Region,
			Credentials:  credentials.StaticCredentialsProvider{Value: s.Creds},
			APIOptions:   []func(*middleware.Stack) error{addLatency(o.AWSLatency)},
			// Every post goes to this one host: keep enough idle connections
			// for a post per connection in flight, rather than dialing anew.
			HTTPClient: awsclients.HTTPClient().WithTransportOptions(func(t *http.Transport) {
				t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 1024
			}),
			Retryer: awsclients.Retryer(),
		})
	}
	clients := app.Clients{DynamoDB: s.DynamoDB, Sender: managementapi.New(mgmt), Now: o.Now, Logger: o.Logger, Metrics: s.Metrics}
	if cfg.CognitoUserPoolID != "" {
		client := cognito.NewClient(aws.Config{
			Region: cfg.Region, Credentials: credentials.StaticCredentialsProvider{Value: s.Creds},
			HTTPClient: awsclients.HTTPClient(), Retryer: awsclients.Retryer,
		}, cfg.CognitoEndpoint)
		if clients.Accounts, err = cognito.New(client, cfg.CognitoUserPoolID); err != nil {
			return nil, fmt.Errorf("local: %w", err)
		}
	}
	a, err := app.New(cfg, clients)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	s.Store, s.Limits = a.Store, a.RateLimits()
	connect, err := a.Connect()
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	messages, err := a.Messages()
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	if s.Admin, err = a.Admin(); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}

	gcfg := o.Gateway
	gcfg.Authorizer = authHandler.Handle
	gcfg.Routes = map[string]wsgateway.Route{
		"$connect":    {Handler: connect.Handle},
		"$disconnect": {Handler: a.Disconnect().Handle},
	}
	for _, route := range handlers.MessageRoutes {
		gcfg.Routes[route] = wsgateway.Route{Handler: messages.Handle, RouteResponse: true}
	}
	gcfg.AccessKeyID, gcfg.SecretAccessKey = s.Creds.AccessKeyID, s.Creds.SecretAccessKey
	gcfg.Region = cfg.Region
	gcfg.Logger = o.Logger
	s.Gateway, err = wsgateway.New(gcfg)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	inProcess.g = s.Gateway

	mux.Handle("/ws", s.Gateway)
	mountSubtree(mux, "/@connections/", s.Gateway)
	// The endpoint API Gateway names ends in the stage, and the gateway
	// answers there too: http://127.0.0.1:8080/local/@connections/{id}.
	mountSubtree(mux, "/"+cmp.Or(gcfg.Stage, wsgateway.DefaultStage)+"/@connections/", s.Gateway)
	// The admin API, behind a local HTTP API JWT authorizer.
	adminAPI, err := httpapi.New(verifier, s.Admin.Handle, admin.Routes, httpapi.Config{
		FunctionTimeout: gcfg.FunctionTimeout, Now: o.Now, Logger: o.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	mountSubtree(mux, "/admin/", cors.wrap(adminAPI))
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	site := fs.FS(web.FS)
	if o.WebDir != "" {
		if st, err := os.Stat(o.WebDir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("local: the web folder %s is not a folder", o.WebDir)
		}
		site = os.DirFS(o.WebDir)
	}
	mux.Handle("/", webHandler(site))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	s.Handler = hostGuard(o.BaseURL, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !apigateway.CleanPath(r.URL.Path) { // API Gateway never redirects; ServeMux would
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"Not Found"}`)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	return s, nil
}

// mountSubtree serves the subtree prefix (ending in '/') with h, and the
// prefix without its slash too: http.ServeMux would answer that path with a
// redirect to the subtree, API Gateway never redirects, and h answers it
// with its own 404.
func mountSubtree(mux *http.ServeMux, prefix string, h http.Handler) {
	mux.Handle(prefix, h)
	mux.Handle(strings.TrimSuffix(prefix, "/"), h)
}

// hostGuard answers only requests whose Host is the stack's own or a
// loopback name. The development issuer mints tokens for anyone who asks,
// and the Management API's default credentials are public, so a web page
// must not reach them through DNS rebinding (a hostile name resolving to
// 127.0.0.1).
func hostGuard(baseURL string, next http.Handler) http.Handler {
	own := ""
	if u, err := url.Parse(baseURL); err == nil {
		own = strings.ToLower(u.Hostname())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port := strings.ToLower(r.Host), ""
		if h, p, err := net.SplitHostPort(host); err == nil {
			host, port = h, cmp.Or(p, "none") // a colon and no port is no port number
		}
		host = strings.Trim(host, "[]")
		ip := net.ParseIP(host)
		if host != own && host != "localhost" && (ip == nil || !ip.IsLoopback()) || !validPort(port) {
			http.Error(w, "forbidden host", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validPort reports whether a Host header's port is absent or a port
// number: the page's CSP repeats the Host header, so nothing but digits may
// ride along in it.
func validPort(port string) bool {
	if port == "" {
		return true
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n > 0 && len(port) <= 5
}

// tokenConfig returns the authorizer's rules. With JWT_ISSUER set, tokens
// come from that external issuer, read through the same variables as the
// Lambda authorizer, and /dev/token is off. Otherwise the dev issuer signs
// tokens and serves its JWKS on mux; the verifier fetches that JWKS from the
// issuer's handler in process, so no port must be open before it starts.
func (s *Stack) tokenConfig(getenv func(string) string, baseURL string, mux *http.ServeMux, cors corsPolicy, log *slog.Logger) (authorizer.Config, error) {
	if getenv("JWT_ISSUER") != "" {
		cfg, err := config.LoadAuthorizer(getenv)
		if err != nil {
			return authorizer.Config{}, fmt.Errorf("local: external issuer: %w", err)
		}
		return tokens.Config(cfg, nil), nil
	}
	icfg := devissuer.Config{Issuer: baseURL, ClientID: DevClientID, Logger: log}
	if s.dataDir != "" {
		key, err := signingKey(s.dataDir)
		if err != nil {
			return authorizer.Config{}, fmt.Errorf("local: data directory: %w", err)
		}
		icfg.Key = key
	}
	issuer, err := devissuer.New(icfg)
	if err != nil {
		return authorizer.Config{}, fmt.Errorf("local: %w", err)
	}
	s.Issuer = issuer
	h := issuer.Handler()
	mux.Handle("/dev/token", cors.wrap(h))
	mux.Handle("/.well-known/jwks.json", cors.wrap(h))
	return authorizer.Config{
		Issuer:     baseURL,
		Audience:   DevClientID,
		JWKSURL:    baseURL + "/.well-known/jwks.json",
		TokenUse:   "access",
		HTTPClient: &http.Client{Transport: handlerTransport{h}, Timeout: 5 * time.Second},
	}, nil
}

// handlerTransport answers HTTP requests with an in-process handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// addLatency delays every request of an SDK client by d, before it is sent.
func addLatency(d time.Duration) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		if d <= 0 {
			return nil
		}
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("ModelledLatency",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if err := sleep(ctx, d); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}

// Shutdown closes every client connection, running each $disconnect.
// With a DataDir and the embedded engine, it then saves the kept tables.
func (s *Stack) Shutdown(ctx context.Context) error {
	err := s.Gateway.Shutdown(ctx)
	if s.keep != nil {
		if serr := saveTables(ctx, s.keep, s.dataDir); serr != nil {
			err = errors.Join(err, fmt.Errorf("local: save the tables to %s: %w", s.dataDir, serr))
		}
	}
	return err
}

// serveMetrics writes the handlers' counters and the DynamoDB requests made.
func (s *Stack) serveMetrics(w http.ResponseWriter, r *http.Request) {
	s.Metrics.ServeHTTP(w, r)
	reqs := s.DynamoDB.Requests()
	for _, op := range slices.Sorted(maps.Keys(reqs)) {
		fmt.Fprintf(w, "dynamodb_requests_total{op=%q} %d\n", op, reqs[op])
	}
}
