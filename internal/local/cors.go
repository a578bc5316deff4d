package local

import (
	"net"
	"net/http"
	"net/url"
	"slices"
)

// corsPolicy lets a web page of another local origin (a game's dev server
// on another port, a Unity WebGL or Godot HTML5 build served locally) call
// the stack's HTTP endpoints: /dev/token, the JWKS and the admin API, as an
// HTTP API with a CORS configuration answers them in AWS. It allows every
// loopback origin (http or https, localhost, 127.0.0.0/8 or [::1], any
// port) and the origins listed in Options.AllowedOrigins; no other. The
// Host header is checked apart (hostGuard), so a hostile name resolving to
// 127.0.0.1 still reaches nothing.
type corsPolicy struct{ origins []string }

// allowed reports whether a page of origin may read the answers.
func (p corsPolicy) allowed(origin string) bool {
	if slices.Contains(p.origins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return false
	}
	if !validPort(u.Port()) {
		return false
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// wrap answers an allowed origin's preflight (204, GET, POST and DELETE
// with Authorization and Content-Type) and marks next's answers readable
// by it; a request from any other origin gets no CORS header at all.
func (p corsPolicy) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !p.allowed(origin) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
