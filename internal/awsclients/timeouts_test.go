package awsclients

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

// timeoutError is what the HTTP client returns when an attempt runs out
// of time.
type timeoutError struct{}

func (timeoutError) Error() string   { return "Client.Timeout exceeded while awaiting headers" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// flakyDoer times out every attempt while failAll is set, and otherwise
// only every call's first attempt.
type flakyDoer struct {
	mu       sync.Mutex
	failAll  bool
	attempts int
}

func (d *flakyDoer) Do(req *http.Request) (*http.Response, error) {
	d.mu.Lock()
	d.attempts++
	failAll := d.failAll
	d.mu.Unlock()
	if failAll || strings.HasPrefix(req.Header.Get("amz-sdk-request"), "attempt=1;") {
		return nil, &url.Error{Op: req.Method, URL: req.URL.String(), Err: timeoutError{}}
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

// TestTimeoutsDoNotSpendOtherCallsRetries makes many calls of one client
// time out on every attempt, then a call whose first attempt times out:
// its retry is still made and succeeds.
func TestTimeoutsDoNotSpendOtherCallsRetries(t *testing.T) {
	doer := &flakyDoer{failAll: true}
	api := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:   doer,
		Retryer:      Retryer(),
	})
	post := func() error {
		_, err := api.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String("abc="), Data: []byte("x"),
		})
		return err
	}

	// 60 calls × 2 retries is far more than the SDK's default quota of 500
	// tokens allows.
	const calls = 60
	errs := make(chan error, calls)
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() { errs <- post() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if _, ok := errors.AsType[ratelimit.QuotaExceededError](err); ok || err == nil {
			t.Fatalf("a timed-out call ended with %v, want its own timeout after %d attempts", err, MaxAttempts)
		}
	}
	if doer.attempts != calls*MaxAttempts {
		t.Errorf("%d attempts for %d calls, want %d each", doer.attempts, calls, MaxAttempts)
	}

	doer.mu.Lock()
	doer.failAll = false
	doer.mu.Unlock()
	if err := post(); err != nil {
		t.Fatalf("a call whose first attempt timed out after the others: %v, want its retry to succeed", err)
	}
}
