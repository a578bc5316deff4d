package authorizer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"golang.org/x/time/rate"
)

// keyStore is the key set of one JWKS URL. Reads are served from the keys of
// the last fetch; a read of an unknown key id fetches the set again, at most
// once per interval, without waiting: a read that is not allowed to fetch
// fails at once. It is a jwkset.Storage, read by keyfunc.
type keyStore struct {
	jwkset.Storage // the keys of the last fetch; reading never fetches

	refresher jwkset.Storage // reading a missing key fetches the set again
	now       func() time.Time
	interval  time.Duration

	mu        sync.Mutex
	lastFetch time.Time
}

// newKeyStore fetches the key set once and returns a store holding it.
func newKeyStore(ctx context.Context, cfg Config) (*keyStore, error) {
	fetched, err := jwkset.NewStorageFromHTTP(cfg.JWKSURL, jwkset.HTTPClientStorageOptions{
		Client:      cfg.HTTPClient,
		Ctx:         ctx,
		HTTPTimeout: cfg.HTTPClient.Timeout,
		// RefreshInterval stays zero: no background goroutine.
		RefreshErrorHandler: recordRefreshError,
	})
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", cfg.JWKSURL, err)
	}
	// The client's own limiter never makes a reader wait: keyStore.KeyRead
	// decides, without blocking, whether a fetch may happen.
	refresher, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{cfg.JWKSURL: fetched},
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("JWKS client for %s: %w", cfg.JWKSURL, err)
	}
	return &keyStore{
		Storage:   fetched,
		refresher: refresher,
		now:       cfg.Now,
		interval:  cfg.UnknownKIDRefreshInterval,
		lastFetch: cfg.Now(),
	}, nil
}

// KeyRead returns the key with id kid, fetching the key set again if kid is
// unknown and the last fetch is at least one interval old. A key not found is
// a *missingKeyError, which says why without repeating the kid.
func (s *keyStore) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	jwk, err := s.Storage.KeyRead(ctx, kid)
	if !errors.Is(err, jwkset.ErrKeyNotFound) {
		return jwk, err
	}
	if !s.mayFetch() {
		return jwkset.JWK{}, &missingKeyError{reason: fmt.Sprintf("not in the JWKS fetched less than %s ago", s.interval)}
	}
	var refreshErr error
	jwk, err = s.refresher.KeyRead(context.WithValue(ctx, refreshErrorKey{}, &refreshErr), kid)
	switch {
	case err == nil:
		return jwk, nil
	case refreshErr != nil:
		return jwkset.JWK{}, &missingKeyError{reason: "JWKS refresh failed", err: refreshErr}
	case errors.Is(err, jwkset.ErrKeyNotFound):
		return jwkset.JWK{}, &missingKeyError{reason: "not in the refreshed JWKS"}
	default:
		return jwkset.JWK{}, fmt.Errorf("read refreshed JWKS: %w", err)
	}
}

// missingKeyError is a key id not found in the key set.
type missingKeyError struct {
	reason string
	err    error // the failed refresh, if any
}

func (e *missingKeyError) Error() string {
	if e.err != nil {
		return e.reason + ": " + e.err.Error()
	}
	return e.reason
}

func (e *missingKeyError) Unwrap() []error {
	if e.err != nil {
		return []error{jwkset.ErrKeyNotFound, e.err}
	}
	return []error{jwkset.ErrKeyNotFound}
}

func (s *keyStore) mayFetch() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.lastFetch) < s.interval {
		return false
	}
	s.lastFetch = now
	return true
}

// refreshErrorKey keys the slot, in a refresh's context, where
// recordRefreshError puts the refresh's error.
type refreshErrorKey struct{}

func recordRefreshError(ctx context.Context, err error) {
	if slot, ok := ctx.Value(refreshErrorKey{}).(*error); ok {
		*slot = err
	}
}
