package authorizer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
)

func TestUnknownKIDRefresh(t *testing.T) {
	testKeys(t)
	c := newClock()
	srv := newJWKSServer(t, rsaKey)
	const interval = 30 * time.Second
	v := srv.newVerifier(t, authorizer.Config{Now: c.Now, UnknownKIDRefreshInterval: interval})
	ctx := context.Background()
	wantHits := func(step string, n int64) {
		t.Helper()
		if got := srv.hits.Load(); got != n {
			t.Fatalf("%s: JWKS fetched %d times, want %d", step, got, n)
		}
	}
	wantHits("start", 1)

	srv.setKeys(rsaKey, laterKey)
	later := sign(t, laterKey, accessClaims(c.Now()))
	if _, err := v.Verify(ctx, later); !errors.Is(err, authorizer.ErrUnknownKey) {
		t.Fatalf("new key within the interval of the first fetch: err = %v, want ErrUnknownKey", err)
	}
	wantHits("new kid right after start", 1)

	c.Advance(interval)
	if id, err := v.Verify(ctx, later); err != nil || id.PlayerID != "alice" {
		t.Fatalf("new key after the interval: %+v, %v", id, err)
	}
	wantHits("new kid after the interval", 2)
	if _, err := v.Verify(ctx, later); err != nil {
		t.Fatalf("the new key is kept: %v", err)
	}
	if _, err := v.Verify(ctx, sign(t, rsaKey, accessClaims(c.Now()))); err != nil {
		t.Fatalf("the old key is kept: %v", err)
	}
	wantHits("known kids", 2)

	// A burst of unknown kids, concurrent, costs one fetch at most.
	c.Advance(interval)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			k := rogueRSA
			k.kid = fmt.Sprintf("unknown-%d", i)
			_, errs[i] = v.Verify(ctx, sign(t, k, accessClaims(c.Now())))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, authorizer.ErrUnknownKey) {
			t.Errorf("burst token %d: err = %v, want ErrUnknownKey", i, err)
		}
	}
	wantHits("burst of 20 unknown kids", 3)

	// A key removed from the set is dropped at the next fetch.
	srv.setKeys(laterKey)
	c.Advance(interval)
	k := rogueRSA
	k.kid = "unknown-again"
	if _, err := v.Verify(ctx, sign(t, k, accessClaims(c.Now()))); !errors.Is(err, authorizer.ErrUnknownKey) {
		t.Fatalf("unknown kid: %v", err)
	}
	wantHits("refetch", 4)
	if _, err := v.Verify(ctx, sign(t, rsaKey, accessClaims(c.Now()))); !errors.Is(err, authorizer.ErrUnknownKey) {
		t.Fatalf("removed key: err = %v, want ErrUnknownKey", err)
	}
	if _, err := v.Verify(ctx, later); err != nil {
		t.Fatalf("remaining key: %v", err)
	}
}

func TestUnknownKIDRefreshFailure(t *testing.T) {
	testKeys(t)
	c := newClock()
	srv := newJWKSServer(t, rsaKey)
	v := srv.newVerifier(t, authorizer.Config{Now: c.Now})
	srv.fail.Store(true)
	c.Advance(authorizer.DefaultUnknownKIDRefreshInterval)
	_, err := v.Verify(context.Background(), sign(t, laterKey, accessClaims(c.Now())))
	if !errors.Is(err, authorizer.ErrUnknownKey) || !strings.Contains(err.Error(), "JWKS refresh failed") {
		t.Fatalf("err = %v, want ErrUnknownKey naming the failed refresh", err)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times, want 2", got)
	}
	// The keys of the last good fetch still verify.
	if _, err := v.Verify(context.Background(), sign(t, rsaKey, accessClaims(c.Now()))); err != nil {
		t.Errorf("known key after a failed refresh: %v", err)
	}
}

func TestNewVerifier(t *testing.T) {
	testKeys(t)
	srv := newJWKSServer(t, rsaKey)
	broken := newJWKSServer(t)
	broken.fail.Store(true)
	tests := []struct {
		name    string
		cfg     authorizer.Config
		wantErr []string // substrings of the error; none means success
	}{
		{"valid", authorizer.Config{Issuer: testIssuer, Audience: testClientID, JWKSURL: srv.url()}, nil},
		{"all missing", authorizer.Config{}, []string{"JWT_ISSUER", "JWT_AUDIENCE", "JWKS_URL"}},
		{"bad token use and URL", authorizer.Config{Issuer: testIssuer, Audience: testClientID, JWKSURL: "/jwks.json", TokenUse: "refresh"},
			[]string{"JWT_TOKEN_USE", `"refresh"`, "JWKS_URL"}},
		{"JWKS answers 500", authorizer.Config{Issuer: testIssuer, Audience: testClientID, JWKSURL: broken.url()}, []string{"fetch JWKS"}},
		{"JWKS unreachable", authorizer.Config{Issuer: testIssuer, Audience: testClientID, JWKSURL: "http://127.0.0.1:1/jwks.json"}, []string{"fetch JWKS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := authorizer.NewVerifier(context.Background(), tt.cfg)
			if len(tt.wantErr) == 0 {
				if err != nil || v == nil {
					t.Fatalf("NewVerifier = %v, %v", v, err)
				}
				return
			}
			if err == nil {
				t.Fatal("NewVerifier succeeded, want an error")
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %s", err, s)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	testKeys(b)
	srv := newJWKSServer(b, rsaKey, ecKey)
	v := srv.newVerifier(b, authorizer.Config{})
	for _, k := range []signingKey{rsaKey, ecKey} {
		b.Run(k.method.Alg(), func(b *testing.B) {
			token := sign(b, k, accessClaims(time.Now()))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
