package wsgateway

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
)

// apiMessage is API Gateway's error body, {"message": "..."}.
type apiMessage struct {
	Message string `json:"message"`
}

// Bodies of refused upgrades, as API Gateway words them.
var (
	msgUnauthorized = apiMessage{Message: "Unauthorized"}
	msgForbidden    = apiMessage{Message: "Forbidden"}
	msgInternal     = apiMessage{Message: "Internal server error"}
)

// unauthorizedMessage is the error text with which an authorizer asks for
// 401. API Gateway sees only the Lambda function's errorMessage, so the text
// is all there is to compare.
const unauthorizedMessage = "Unauthorized"

// serveUpgrade authorizes the upgrade request, runs $connect and, when it
// succeeds, upgrades and serves the connection until it ends.
func (g *Gateway) serveUpgrade(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeJSON(w, http.StatusMethodNotAllowed, apiMessage{Message: "Method Not Allowed"})
		return
	}
	if query, _ := queryParameters(r); query["token"] == "" {
		g.log.Info("connect refused", "status", http.StatusUnauthorized, "cause", "no token")
		writeJSON(w, http.StatusUnauthorized, msgUnauthorized)
		return
	}
	if status, problem := checkUpgradeRequest(r); status != 0 {
		writeJSON(w, status, apiMessage{Message: problem})
		return
	}
	if !g.begin() {
		writeJSON(w, http.StatusServiceUnavailable, apiMessage{Message: "Service Unavailable"})
		return
	}
	served := false // once the connection is served, its goroutine calls Done
	defer func() {
		if !served {
			g.wg.Done()
		}
	}()

	c := newConn(g, r)

	authz, status := g.authorize(r, c)
	if status != 0 {
		writeRefusal(w, status)
		return
	}
	c.authorizer = authz

	resp, ok := g.connect(w, r, c)
	if !ok {
		return
	}

	// Registered before the 101 is written: once the client is connected,
	// the Management API reaches it (calls wait for the upgrade to finish).
	shuttingDown := !g.register(c)
	frames := &frameInspector{limit: int64(g.cfg.MaxFrameBytes), onTooBig: func() {
		c.close(websocket.StatusMessageTooBig, reasonTooBig)
	}, onClose: c.flushBeforeClose}
	ws, err := websocket.Accept(&hijackWriter{ResponseWriter: w, frames: frames}, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // API Gateway does not check Origin; the token is the credential
		Subprotocols:       subprotocols(resp),
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		st := closeStatus{code: websocket.StatusAbnormalClosure}
		c.setStatus(st)
		close(c.ready)
		g.unregister(c)
		// $connect has run, so $disconnect must too: its rows need cleaning up.
		c.log.Error("upgrade failed after $connect", "error", err)
		g.disconnect(c, st)
		return
	}
	ws.SetReadLimit(int64(g.cfg.MaxMessageBytes))
	c.ws = ws
	close(c.ready)
	if shuttingDown {
		c.close(websocketGoingAway, reasonGoingAway)
	}
	// The connection lives on a goroutine of its own and the HTTP handler
	// returns: net/http then drops what it kept for the request (its
	// buffers, the parsed headers), and the connection's goroutine starts
	// with a small stack instead of the one the upgrade grew.
	served = true
	go func() {
		defer g.wg.Done()
		c.serve()
	}()
}

// checkUpgradeRequest reports a request coder/websocket would refuse, so
// that it is refused before any handler runs.
func checkUpgradeRequest(r *http.Request) (status int, problem string) {
	switch {
	case !r.ProtoAtLeast(1, 1) ||
		!headerHasToken(r.Header, "Connection", "upgrade") ||
		!headerHasToken(r.Header, "Upgrade", "websocket"):
		return http.StatusUpgradeRequired, "Upgrade Required"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return http.StatusBadRequest, "Unsupported WebSocket version"
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return http.StatusBadRequest, "Bad Sec-WebSocket-Key"
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return http.StatusBadRequest, "Bad Sec-WebSocket-Key"
	}
	return 0, ""
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// authorize runs the authorizer and returns requestContext.authorizer, or
// the HTTP status refusing the upgrade.
func (g *Gateway) authorize(r *http.Request, c *conn) (map[string]any, int) {
	requestID := newID()
	resp, err := call(g, requestID, g.cfg.Authorizer, g.authorizerEvent(r, c.identity, requestID))
	if err != nil {
		if err.Error() == unauthorizedMessage {
			c.log.Info("connect refused", "status", http.StatusUnauthorized, "requestId", requestID)
			return nil, http.StatusUnauthorized
		}
		c.log.Error("authorizer failed", "status", http.StatusInternalServerError, "requestId", requestID, "error", err)
		return nil, http.StatusInternalServerError
	}
	out, authz, err := authorizerOutput(resp)
	if err != nil {
		c.log.Error("authorizer answered badly", "status", http.StatusInternalServerError, "requestId", requestID, "error", err)
		return nil, http.StatusInternalServerError
	}
	if !policyAllows(out.PolicyDocument, "execute-api:Invoke", g.connectARN) {
		c.log.Info("connect refused", "status", http.StatusForbidden, "requestId", requestID, "principalId", out.PrincipalID)
		return nil, http.StatusForbidden
	}
	return authz, 0
}

// authorizerOutput passes the authorizer's response through JSON, as the
// Lambda runtime would, and returns it with requestContext.authorizer:
// principalId and the context, whose values must be strings, numbers or
// booleans.
func authorizerOutput(resp events.APIGatewayCustomAuthorizerResponse) (events.APIGatewayCustomAuthorizerResponse, map[string]any, error) {
	var out events.APIGatewayCustomAuthorizerResponse
	b, err := json.Marshal(resp)
	if err != nil {
		return out, nil, fmt.Errorf("encode authorizer response: %w", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, nil, fmt.Errorf("decode authorizer response: %w", err)
	}
	if out.PrincipalID == "" {
		return out, nil, errors.New("authorizer response has no principalId")
	}
	authz := make(map[string]any, len(out.Context)+1)
	for k, v := range out.Context {
		switch v.(type) {
		case string, float64, bool:
			authz[k] = v
		default:
			return out, nil, fmt.Errorf("authorizer context %q: a %T is not a string, number or boolean", k, v)
		}
	}
	authz["principalId"] = out.PrincipalID
	return out, authz, nil
}

// policyAllows evaluates an IAM policy for one action on one resource: an
// explicit Deny wins, otherwise an Allow is needed. Actions match without
// regard to case, resources with it; both take * and ? wildcards.
func policyAllows(doc events.APIGatewayCustomAuthorizerPolicy, action, resource string) bool {
	allowed := false
	for _, st := range doc.Statement {
		if !anyMatches(st.Action, action, true) || !anyMatches(st.Resource, resource, false) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

func anyMatches(patterns []string, s string, foldCase bool) bool {
	for _, p := range patterns {
		if foldCase {
			p, s = strings.ToLower(p), strings.ToLower(s)
		}
		if wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against an IAM pattern, where * is any run of
// characters (including none and '/') and ? is any one character.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// connect runs the $connect route. It answers the client itself and
// returns false when the connection is refused.
func (g *Gateway) connect(w http.ResponseWriter, r *http.Request, c *conn) (events.APIGatewayProxyResponse, bool) {
	route, ok := g.cfg.Routes[RouteConnect]
	if !ok {
		return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, true
	}
	requestID := newID()
	resp, err := call(g, requestID, route.Handler, g.connectEvent(c, r, requestID))
	if err != nil {
		c.log.Error("route failed", "route", RouteConnect, "requestId", requestID, "status", http.StatusInternalServerError, "error", err)
		writeJSON(w, http.StatusInternalServerError, msgInternal)
		return resp, false
	}
	status := cmp.Or(resp.StatusCode, http.StatusOK) // a response without a status counts as success
	if status < 100 || status > 599 {
		c.log.Error("route answered an invalid status", "route", RouteConnect, "requestId", requestID, "status", status)
		writeJSON(w, http.StatusInternalServerError, msgInternal)
		return resp, false
	}
	if status < 200 || status > 299 {
		c.log.Info("connect refused", "route", RouteConnect, "requestId", requestID, "status", status)
		writeProxyResponse(w, status, resp)
		return resp, false
	}
	c.log.Info("connected", "route", RouteConnect, "requestId", requestID, "status", status,
		"principalId", c.authorizer["principalId"])
	return resp, true
}

// subprotocols returns the subprotocol $connect chose, if any.
func subprotocols(resp events.APIGatewayProxyResponse) []string {
	for k, v := range resp.Headers {
		if strings.EqualFold(k, "Sec-WebSocket-Protocol") && v != "" {
			return []string{v}
		}
	}
	return nil
}

// writeProxyResponse answers a refused upgrade with the integration's
// status, headers and body.
func writeProxyResponse(w http.ResponseWriter, status int, resp events.APIGatewayProxyResponse) {
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for _, h := range []string{"Connection", "Upgrade", "Content-Length", "Transfer-Encoding", "Sec-WebSocket-Accept"} {
		w.Header().Del(h)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			body = b
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeRefusal(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusUnauthorized:
		writeJSON(w, status, msgUnauthorized)
	case http.StatusForbidden:
		writeJSON(w, status, msgForbidden)
	default:
		writeJSON(w, status, msgInternal)
	}
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only fixed, encodable types are passed
		status, b = http.StatusInternalServerError, []byte(`{"message":"Internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
