package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestStringClaims(t *testing.T) {
	var claims map[string]any
	if err := json.Unmarshal([]byte(`{"sub":"root","cognito:groups":["admin","ops"],"exp":1700000000,"admin":true,"auth_time":1.5}`), &claims); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"sub": "root", "cognito:groups": "[admin ops]", "exp": "1700000000", "admin": "true", "auth_time": "1.5"}
	if got := StringClaims(claims); !reflect.DeepEqual(got, want) {
		t.Errorf("StringClaims = %v, want %v", got, want)
	}
}

// fakeVerifier accepts the token "good" with fixed claims.
type fakeVerifier struct{}

func (fakeVerifier) VerifyClaims(_ context.Context, token string) (map[string]any, error) {
	if token != "good" {
		return nil, errors.New("bad token")
	}
	return map[string]any{"sub": "root", "cognito:groups": []any{"admin", "ops"}, "exp": float64(1700000000)}, nil
}

func TestServe(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	calls := 0
	api, err := New(fakeVerifier{}, func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		calls++
		got = req
		switch req.Body {
		case "panic":
			panic("boom")
		case "hang":
			<-ctx.Done()
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 202, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"ok":true}`}, nil
	}, []string{"GET /admin/players/{playerId}", "DELETE /admin/connections/{connectionId}", "POST /admin/players/{playerId}/ban"}, Config{FunctionTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, auth, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		method, path, auth string
		status             int
	}{
		{"GET", "/admin/players/bob", "", 401},
		{"GET", "/admin/players/bob", "Bearer ", 401},
		{"GET", "/admin/players/bob", "Basic good", 401},
		{"GET", "/admin/players/bob", "Bearer bad", 401},
		{"GET", "/admin/nothing", "Bearer good", 404},
		{"PUT", "/admin/players/bob", "Bearer good", 404},
		{"HEAD", "/admin/players/bob", "Bearer good", 404},
		{"GET", "/admin/players/", "Bearer good", 404},
		{"GET", "/admin", "Bearer good", 404}, // never a redirect to /admin/
		{"GET", "/admin/players/bob/extra", "Bearer good", 404},
		{"GET", "/admin//players/bob", "Bearer good", 404}, // API Gateway does not redirect to a clean path
		{"GET", "/admin/players/./bob", "Bearer good", 404},
	} {
		if status, body := do(c.method, c.path, c.auth, ""); status != c.status {
			t.Errorf("%s %s (%q) = %d %s, want %d", c.method, c.path, c.auth, status, body, c.status)
		}
	}
	if calls != 0 {
		t.Fatalf("the handler ran %d times for refused requests", calls)
	}

	status, body := do("DELETE", "/admin/connections/abc%3D", "Bearer good", "")
	if status != 202 || body != `{"ok":true}` {
		t.Fatalf("DELETE = %d %s", status, body)
	}
	claims := got.RequestContext.Authorizer.JWT.Claims
	if got.RouteKey != "DELETE /admin/connections/{connectionId}" || got.PathParameters["connectionId"] != "abc=" ||
		claims["cognito:groups"] != "[admin ops]" || claims["exp"] != "1700000000" || claims["sub"] != "root" ||
		got.RequestContext.HTTP.Method != "DELETE" || got.Version != "2.0" {
		t.Errorf("event = %+v", got)
	}
	if _, ok := got.Headers["authorization"]; !ok {
		t.Error("headers lack authorization, which API Gateway passes on")
	}
	if status, _ := do("POST", "/admin/players/bob/ban", "Bearer good", "panic"); status != 500 {
		t.Errorf("a panicking handler answered %d, want 500", status)
	}
	if status, _ := do("POST", "/admin/players/bob/ban", "Bearer good", "hang"); status != 503 {
		t.Errorf("a handler past the function timeout answered %d, want 503", status)
	}
	if status, _ := do("POST", "/admin/players/bob/ban", "Bearer good", strings.Repeat("x", MaxBodyBytes+1)); status != 413 {
		t.Errorf("an oversized body answered %d, want 413", status)
	}
}

// TestNewRefusesBadRouteKeys: a route key the API cannot serve is an error
// from New, never a panic.
func TestNewRefusesBadRouteKeys(t *testing.T) {
	h := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{}, nil
	}
	for _, keys := range [][]string{
		{"GET"},
		{"GET admin"},
		{"GET /a/{b"},
		{"GET /a/{x}", "GET /a/{y}"},
	} {
		if _, err := New(fakeVerifier{}, h, keys, Config{}); err == nil {
			t.Errorf("New(%q) = nil error", keys)
		}
	}
}
