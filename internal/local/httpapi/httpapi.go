// Package httpapi plays, locally, an API Gateway HTTP API whose routes have
// a JWT authorizer: it checks the Authorization: Bearer token with the same
// verifier as the WebSocket authorizer, answers 401 {"message":"Unauthorized"}
// when the token is missing or refused, and otherwise calls the route's
// Lambda handler with a payload format 2.0 event whose
// requestContext.authorizer.jwt.claims holds every claim as a string, as AWS
// passes them: an array such as cognito:groups arrives as "[admin ops]".
package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/serverless-websockets/serverless-websockets/internal/local/apigateway"
	"github.com/serverless-websockets/serverless-websockets/internal/local/wsgateway"
)

// ClaimsVerifier verifies a token and returns its claims.
type ClaimsVerifier interface {
	VerifyClaims(ctx context.Context, token string) (map[string]any, error)
}

// HandlerFunc is an HTTP API Lambda handler (payload format 2.0).
type HandlerFunc func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// API serves routes such as "GET /admin/players/{playerId}" with one
// handler. Create it with New.
type API struct {
	verifier ClaimsVerifier
	handler  HandlerFunc
	mux      *http.ServeMux
	cfg      Config
}

// Config tunes an API. The zero value is usable.
type Config struct {
	// FunctionTimeout bounds each handler invocation, as the function's
	// Timeout does in Lambda; past it the answer is 503, as API Gateway
	// answers a timed-out integration. Default 10 seconds.
	FunctionTimeout time.Duration
	// Now stamps events. Default time.Now.
	Now func() time.Time
	// Logger receives refusals and handler failures. Default: discard.
	Logger *slog.Logger
}

// DefaultFunctionTimeout is Config.FunctionTimeout's default.
const DefaultFunctionTimeout = wsgateway.DefaultFunctionTimeout

// MaxBodyBytes is the largest request body accepted (HTTP API allows 10 MB;
// the admin API needs far less).
const MaxBodyBytes = 64 << 10

// New returns an API for routeKeys ("METHOD /path/{param}"), each served by
// handler after verifier accepts the token.
func New(verifier ClaimsVerifier, handler HandlerFunc, routeKeys []string, cfg Config) (_ *API, err error) {
	defer func() { // http.ServeMux panics on a malformed or conflicting pattern
		if r := recover(); r != nil {
			err = fmt.Errorf("httpapi: bad route keys: %v", r)
		}
	}()
	if verifier == nil || handler == nil {
		return nil, fmt.Errorf("httpapi: a verifier and a handler are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FunctionTimeout <= 0 {
		cfg.FunctionTimeout = DefaultFunctionTimeout
	}
	a := &API{verifier: verifier, handler: handler, mux: http.NewServeMux(), cfg: cfg}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeMessage(w, http.StatusNotFound, "Not Found") })
	for _, k := range routeKeys {
		method, path, ok := strings.Cut(k, " ")
		if !ok || !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("httpapi: bad route key %q", k)
		}
		var names []string
		for _, p := range strings.Split(path, "/") {
			if name, ok := strings.CutPrefix(p, "{"); ok {
				names = append(names, strings.TrimSuffix(name, "}"))
			}
		}
		a.mux.HandleFunc(k, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != method { // the mux lets HEAD match GET; API Gateway does not
				writeMessage(w, http.StatusNotFound, "Not Found")
				return
			}
			params := map[string]string{}
			for _, n := range names {
				params[n] = r.PathValue(n)
			}
			a.serve(w, r, k, params)
		})
	}
	return a, nil
}

// ServeHTTP serves the route keys; anything else is 404, as API Gateway
// answers (never a redirect).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !apigateway.CleanPath(r.URL.Path) {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	a.mux.ServeHTTP(w, r)
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg}) // a map of strings always encodes
	_, _ = w.Write(b)
}

// serve answers a request for the route key with the path parameters params.
func (a *API) serve(w http.ResponseWriter, r *http.Request, key string, params map[string]string) {
	auth := r.Header.Get("Authorization")
	token, found := strings.CutPrefix(auth, "Bearer ")
	if !found {
		token, found = strings.CutPrefix(auth, "bearer ")
	}
	token = strings.TrimSpace(token)
	if !found || token == "" {
		writeMessage(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	claims, err := a.verifier.VerifyClaims(r.Context(), token)
	if err != nil {
		a.cfg.Logger.Info("admin request unauthorized", "route", key, "reason", err.Error())
		writeMessage(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	resp, err := apigateway.Invoke(r.Context(), a.cfg.FunctionTimeout, a.handler, a.event(r, key, params, claims, body))
	if errors.Is(err, apigateway.ErrTimedOut) {
		a.cfg.Logger.Error("admin handler timed out", "route", key, "timeout", a.cfg.FunctionTimeout)
		writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	if err != nil {
		a.cfg.Logger.Error("admin handler failed", "route", key, "error", err.Error())
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(cmp.Or(resp.StatusCode, http.StatusOK))
	_, _ = io.WriteString(w, resp.Body)
}

// event builds the payload format 2.0 event of r.
func (a *API) event(r *http.Request, key string, params map[string]string, claims map[string]any, body []byte) events.APIGatewayV2HTTPRequest {
	now := a.cfg.Now()
	headers := map[string]string{}
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	var query map[string]string
	if qs := r.URL.Query(); len(qs) > 0 {
		query = map[string]string{}
		for k, vs := range qs {
			query[k] = strings.Join(vs, ",")
		}
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	return events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              key,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		Body:                  string(body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:   key,
			AccountID:  "000000000000",
			Stage:      "$default",
			RequestID:  strconv.FormatInt(now.UnixNano(), 36),
			APIID:      "local",
			DomainName: r.Host,
			Time:       now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:  now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: ip, UserAgent: r.UserAgent(),
			},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: StringClaims(claims), Scopes: nil},
			},
		},
	}
}

// StringClaims renders claims as an HTTP API JWT authorizer passes them:
// strings as they are, numbers in decimal, booleans as true or false, and
// arrays as their items, space-separated, in brackets.
func StringClaims(claims map[string]any) map[string]string {
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		out[k] = claimString(v)
	}
	return out
}

func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, it := range v {
			parts[i] = claimString(it)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
