package local

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServesTheWebClient(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	s, err := New(context.Background(), Options{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = s.Handler
	srv.Start()
	defer srv.Close()

	noRedirects := srv.Client()
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(body)
	}

	res, body := get(http.MethodGet, "/")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="sign-in"`) {
		t.Fatalf("GET / = %d, body without the sign-in form:\n%.300s", res.StatusCode, body)
	}
	csp := res.Header.Get("Content-Security-Policy")
	host := srv.Listener.Addr().String()
	for _, want := range []string{"default-src 'self'", "connect-src 'self' ws://" + host + ";", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}

	res, body = get(http.MethodGet, "/config.json")
	var cfg struct {
		WSURL string `json:"wsUrl"`
		Auth  string `json:"auth"`
	}
	if err := json.Unmarshal([]byte(body), &cfg); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /config.json = %d %q: %v", res.StatusCode, body, err)
	}
	if cfg.Auth != "dev" || cfg.WSURL != "" {
		t.Errorf("config.json = %+v, want dev auth and the page's own host", cfg)
	}

	if res, _ := get(http.MethodGet, "/js/app.js"); !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("js/app.js served as %q; a module script needs a JavaScript type", res.Header.Get("Content-Type"))
	}
	if res, _ := get(http.MethodGet, "/embed.go"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /embed.go = %d, want 404: only the client's files are served", res.StatusCode)
	}
	if res, _ := get(http.MethodPost, "/"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", res.StatusCode)
	}
	for _, p := range []string{"//ws", "/admin//bans", "/./healthz"} {
		if res, _ := get(http.MethodGet, p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404: API Gateway does not redirect to a clean path", p, res.StatusCode)
		}
	}
	// The roots of the subtrees without their trailing slash, which
	// http.ServeMux would redirect to the subtree.
	for _, p := range []string{"/admin", "/@connections", "/local/@connections"} {
		if res, body := get(http.MethodGet, p); res.StatusCode != http.StatusNotFound || body != `{"message":"Not Found"}` {
			t.Errorf("GET %s = %d %q (Location %q), want 404 {\"message\":\"Not Found\"}: API Gateway never redirects",
				p, res.StatusCode, body, res.Header.Get("Location"))
		}
	}
	if res, _ := get(http.MethodGet, "/dev/token"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /dev/token = %d, want the issuer's 405, not the web client", res.StatusCode)
	}
}

// TestServesAnotherWebFolder: -web DIR serves a game's own page in place
// of the embedded client, with the same headers; a folder that is not one
// stops the stack at start.
func TestServesAnotherWebFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>my game</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	s, err := New(t.Context(), Options{BaseURL: base, WebDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = s.Handler
	srv.Start()
	defer srv.Close()
	res, err := srv.Client().Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "<p>my game</p>" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("GET / = %d %q %v, want the folder's page with the CSP", res.StatusCode, body, res.Header)
	}
	if _, err := New(t.Context(), Options{BaseURL: base, WebDir: filepath.Join(dir, "index.html")}); err == nil {
		t.Error("a file given as the web folder was accepted")
	}
}
