package wsgateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
)

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "?"
}

// toJSONMap encodes v and decodes it again as a generic JSON object.
func toJSONMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func loadGolden(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// compareShape reports every member of golden that ours lacks or holds with
// another JSON type, and every member of ours golden does not have, skipping
// the paths skip accepts. Objects are compared member by member.
func compareShape(golden, ours map[string]any, path string, skip func(string) bool) []string {
	var problems []string
	for k, gv := range golden {
		p := path + "." + k
		if skip(p) {
			continue
		}
		ov, ok := ours[k]
		if !ok {
			problems = append(problems, "missing "+p)
			continue
		}
		if jsonKind(gv) != jsonKind(ov) {
			problems = append(problems, p+" is "+jsonKind(ov)+", want "+jsonKind(gv))
			continue
		}
		if gm, ok := gv.(map[string]any); ok {
			problems = append(problems, compareShape(gm, ov.(map[string]any), p, skip)...)
		}
	}
	for k := range ours {
		p := path + "." + k
		if _, ok := golden[k]; !ok && !skip(p) {
			problems = append(problems, "extra "+p)
		}
	}
	slices.Sort(problems)
	return problems
}

// TestEventsMatchRealShapes compares the gateway's events with events API
// Gateway sent (testdata/), and checks their values.
func TestEventsMatchRealShapes(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Now = func() time.Time { return fixedStart }
		c.Stage, c.APIID = "prod", "gy415nuibc"
	})
	c := h.dial("alice", &websocket.DialOptions{HTTPHeader: map[string][]string{"User-Agent": {"Mozilla/5.0 test"}}})
	exchange(t, c, "{\r\n\t\"a\": 1\r\n}")
	exchange(t, c, `{"action":"sendmessage","to":"bob"}`)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, []byte{0, 1, 2, 0xff}); err != nil {
		t.Fatal(err)
	}
	receive(t, c)
	_ = c.Close(websocket.StatusGoingAway, "")
	h.waitDisconnect()

	connect := h.rec.events(RouteConnect)[0]
	defaults := h.rec.events(RouteDefault)
	if len(defaults) != 2 {
		t.Fatalf("$default ran %d times, want 2", len(defaults))
	}
	message, binary := defaults[0], defaults[1]
	routed := h.rec.events("sendmessage")[0]
	disconnect := h.rec.events(RouteDisconnect)[0]

	// The authorizer's output is ours only; the golden events had none.
	ownAuthorizer := func(p string) bool { return strings.HasPrefix(p, ".requestContext.authorizer") }
	t.Run("connect", func(t *testing.T) {
		// apigw-websocket-request.json mixes REST API fields into a $connect
		// event; only the WebSocket ones are compared.
		restOnly := map[string]bool{
			".resource": true, ".path": true, ".httpMethod": true, ".pathParameters": true, ".stageVariables": true,
			".body": true, ".requestContext.accountId": true, ".requestContext.resourceId": true,
			".requestContext.resourcePath": true, ".requestContext.httpMethod": true, ".requestContext.error": true,
			".requestContext.integrationLatency": true, ".requestContext.status": true,
		}
		skip := func(p string) bool {
			if restOnly[p] || ownAuthorizer(p) ||
				strings.HasPrefix(p, ".headers.") || strings.HasPrefix(p, ".multiValueHeaders.") ||
				strings.HasPrefix(p, ".queryStringParameters.") || strings.HasPrefix(p, ".multiValueQueryStringParameters.") {
				return true
			}
			if rest, ok := strings.CutPrefix(p, ".requestContext.identity."); ok {
				return rest != "sourceIp" && rest != "userAgent"
			}
			return false
		}
		for _, p := range compareShape(loadGolden(t, "apigw-websocket-request.json"), toJSONMap(t, connect), "", skip) {
			t.Error(p)
		}
	})
	t.Run("message", func(t *testing.T) {
		for _, ev := range []events.APIGatewayWebsocketProxyRequest{message, routed, binary} {
			for _, p := range compareShape(loadGolden(t, "apigw-websocket-request-send-message.json"), toJSONMap(t, ev), "", ownAuthorizer) {
				t.Errorf("%s: %s", ev.RequestContext.RouteKey, p)
			}
		}
	})
	t.Run("disconnect", func(t *testing.T) {
		for _, p := range compareShape(loadGolden(t, "apigw-websocket-request-disconnect.json"), toJSONMap(t, disconnect), "", ownAuthorizer) {
			t.Error(p)
		}
	})

	t.Run("values", func(t *testing.T) {
		all := []events.APIGatewayWebsocketProxyRequest{connect, message, routed, binary, disconnect}
		seen := map[string]bool{}
		for _, ev := range all {
			rc := ev.RequestContext
			checks := []struct {
				name      string
				got, want any
			}{
				{"connectionId", rc.ConnectionID, connect.RequestContext.ConnectionID},
				{"connectedAt", rc.ConnectedAt, fixedStart.UnixMilli()},
				{"requestTimeEpoch", rc.RequestTimeEpoch, fixedStart.UnixMilli()},
				{"requestTime", rc.RequestTime, "20/Jan/2024:11:54:57 +0000"},
				{"messageDirection", rc.MessageDirection, "IN"},
				{"stage", rc.Stage, "prod"},
				{"apiId", rc.APIID, "gy415nuibc"},
				{"domainName", rc.DomainName, strings.TrimPrefix(h.srv.URL, "http://")},
				{"extendedRequestId", rc.ExtendedRequestID, rc.RequestID},
				{"sourceIp", rc.Identity.SourceIP, "127.0.0.1"},
				{"userAgent", rc.Identity.UserAgent, "Mozilla/5.0 test"},
				{"requestId length", len(rc.RequestID), 16},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: %s = %v, want %v", rc.RouteKey, c.name, c.got, c.want)
				}
			}
			if seen[rc.RequestID] {
				t.Errorf("%s: requestId %s repeated", rc.RouteKey, rc.RequestID)
			}
			seen[rc.RequestID] = true
			_, hasMessageID := rc.MessageID.(string)
			if hasMessageID != (rc.EventType == eventMessage) {
				t.Errorf("%s: messageId = %v", rc.RouteKey, rc.MessageID)
			}
		}
		for _, c := range []struct {
			ev        events.APIGatewayWebsocketProxyRequest
			route     string
			eventType string
			body      string
			base64    bool
		}{
			{connect, RouteConnect, eventConnect, "", false},
			{message, RouteDefault, eventMessage, "{\r\n\t\"a\": 1\r\n}", false},
			{routed, "sendmessage", eventMessage, `{"action":"sendmessage","to":"bob"}`, false},
			{binary, RouteDefault, eventMessage, base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff}), true},
			{disconnect, RouteDisconnect, eventDisconnect, "", false},
		} {
			rc := c.ev.RequestContext
			if rc.RouteKey != c.route || rc.EventType != c.eventType || c.ev.Body != c.body || c.ev.IsBase64Encoded != c.base64 {
				t.Errorf("event = route %q, type %q, body %q, base64 %v; want %q, %q, %q, %v",
					rc.RouteKey, rc.EventType, c.ev.Body, c.ev.IsBase64Encoded, c.route, c.eventType, c.body, c.base64)
			}
		}
		if rc := disconnect.RequestContext; rc.DisconnectStatusCode != 1001 || rc.DisconnectReason == nil || *rc.DisconnectReason != "" {
			t.Errorf("disconnect status = %d %v, want 1001 \"\"", rc.DisconnectStatusCode, rc.DisconnectReason)
		}
		if got := connect.QueryStringParameters["token"]; got != "alice" {
			t.Errorf("$connect token = %q", got)
		}
	})
}

func TestNewIDShape(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, n)
	for range n {
		id := newID()
		if len(id) != 16 || !strings.HasSuffix(id, "=") || strings.ContainsAny(id, "+/") {
			t.Fatalf("id %q has not API Gateway's shape", id)
		}
		b, err := base64.URLEncoding.DecodeString(id)
		if err != nil || len(b) != 11 {
			t.Fatalf("id %q decodes to %d bytes: %v", id, len(b), err)
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
	}
}

func TestRouteKey(t *testing.T) {
	routes := map[string]Route{"sendmessage": {}, "ping": {}, RouteDefault: {}, RouteConnect: {}, RouteDisconnect: {}}
	tests := []struct {
		body string
		want string
	}{
		{`{"action":"sendmessage","to":"bob"}`, "sendmessage"},
		{` { "to": "bob", "action" : "ping" } `, "ping"},
		{`{"action":"sendmessage","action":"ping"}`, "ping"},
		{`{"action":"SendMessage"}`, RouteDefault},
		{`{"Action":"sendmessage"}`, RouteDefault},
		{`{"action":"unknown"}`, RouteDefault},
		{`{"action":1}`, RouteDefault},
		{`{"action":null}`, RouteDefault},
		{`{"action":["ping"]}`, RouteDefault},
		{`{"action":"$connect"}`, RouteDefault},
		{`{"action":"$disconnect"}`, RouteDefault},
		{`{"data":{"action":"ping"}}`, RouteDefault},
		{`["action","ping"]`, RouteDefault},
		{`"ping"`, RouteDefault},
		{`{"action":"ping"`, RouteDefault},
		{`{"action":"ping"} trailing`, RouteDefault},
		{`hello`, RouteDefault},
		{``, RouteDefault},
		{`{"action":"p\u0069ng"}`, "ping"},
	}
	for _, tt := range tests {
		if got := routeKey([]byte(tt.body), routes); got != tt.want {
			t.Errorf("routeKey(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
