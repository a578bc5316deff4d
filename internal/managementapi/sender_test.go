package managementapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// fakeAPI is a function-field fake of the Management API client.
type fakeAPI struct {
	post func(*apigatewaymanagementapi.PostToConnectionInput) error
	del  func(*apigatewaymanagementapi.DeleteConnectionInput) error
}

func (f fakeAPI) PostToConnection(_ context.Context, in *apigatewaymanagementapi.PostToConnectionInput, _ ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error) {
	return &apigatewaymanagementapi.PostToConnectionOutput{}, f.post(in)
}

func (f fakeAPI) DeleteConnection(_ context.Context, in *apigatewaymanagementapi.DeleteConnectionInput, _ ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error) {
	return &apigatewaymanagementapi.DeleteConnectionOutput{}, f.del(in)
}

func TestSenderTranslatesGone(t *testing.T) {
	gone := &types.GoneException{Message: aws.String("gone")}
	other := errors.New("throttled")
	var posted []byte
	s := New(fakeAPI{
		post: func(in *apigatewaymanagementapi.PostToConnectionInput) error {
			switch aws.ToString(in.ConnectionId) {
			case "gone=":
				return gone
			case "busy=":
				return other
			}
			posted = in.Data
			return nil
		},
		del: func(in *apigatewaymanagementapi.DeleteConnectionInput) error {
			if aws.ToString(in.ConnectionId) == "gone=" {
				return gone
			}
			return nil
		},
	})
	ctx := context.Background()

	if err := s.Post(ctx, "ok=", []byte("hi")); err != nil || string(posted) != "hi" {
		t.Fatalf("Post ok = %v, posted %q", err, posted)
	}
	err := s.Post(ctx, "gone=", nil)
	if !errors.Is(err, domain.ErrGone) {
		t.Fatalf("Post gone = %v, want ErrGone", err)
	}
	var ge *types.GoneException
	if !errors.As(err, &ge) {
		t.Fatal("the SDK's GoneException is not kept in the chain")
	}
	if err := s.Post(ctx, "busy=", nil); err == nil || errors.Is(err, domain.ErrGone) {
		t.Fatalf("Post busy = %v, want a non-gone error", err)
	}
	if err := s.Delete(ctx, "gone="); !errors.Is(err, domain.ErrGone) {
		t.Fatalf("Delete gone = %v", err)
	}
	if err := s.Delete(ctx, "ok="); err != nil {
		t.Fatalf("Delete ok = %v", err)
	}
}

func TestSenderNeverPostsInvalidUTF8(t *testing.T) {
	calls := 0
	s := New(fakeAPI{post: func(*apigatewaymanagementapi.PostToConnectionInput) error { calls++; return nil }})
	err := s.Post(context.Background(), "c=", []byte("{\"message\":\"\xff\"}"))
	if err == nil || errors.Is(err, domain.ErrGone) || calls != 0 {
		t.Fatalf("Post of invalid UTF-8 = %v after %d requests; want a refusal without a request", err, calls)
	}
	if err := s.Post(context.Background(), "c=", []byte(`{"message":"é"}`)); err != nil || calls != 1 {
		t.Fatalf("Post of valid UTF-8 = %v after %d requests", err, calls)
	}
}

// TestSenderTranslatesLimitExceeded runs the real SDK client, with the
// SDK's standard retryer, against a server answering as API Gateway does
// when a client's buffer is full: one request, and an error wrapping
// domain.ErrLimitExceeded.
func TestSenderTranslatesLimitExceeded(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Header().Set("x-amzn-ErrorType", "LimitExceededException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"message":"the client's outbound buffer is full"}`)
	}))
	defer srv.Close()
	s := New(apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		Retryer:      retry.NewStandard(),
	}))
	err := s.Post(context.Background(), "full=", []byte("hi"))
	if !errors.Is(err, domain.ErrLimitExceeded) || errors.Is(err, domain.ErrGone) {
		t.Fatalf("Post to a full connection = %v, want ErrLimitExceeded (and not ErrGone)", err)
	}
	if _, ok := errors.AsType[*types.LimitExceededException](err); !ok {
		t.Fatal("the SDK's LimitExceededException is not kept in the chain")
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1: a full connection is not retried", n)
	}
}
