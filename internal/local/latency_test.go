package local

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// The modelled latency comes before each DynamoDB request: a request whose
// context ends during it fails with the context's error and never reaches
// the engine, which would otherwise answer (the embedded one ignores
// contexts).
func TestAWSLatencyDynamoDB(t *testing.T) {
	ctx := context.Background()
	s, err := New(ctx, Options{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(ctx context.Context) error {
		_, err := s.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(ConnectionsTable), Key: map[string]types.AttributeValue{
			"playerId": &types.AttributeValueMemberS{Value: "alice"}, "slot": &types.AttributeValueMemberN{Value: "0"}}})
		return err
	}
	if err := get(ctx); err != nil {
		t.Fatalf("GetItem without latency: %v", err)
	}
	s.DynamoDB.Latency = time.Hour
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := get(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetItem with an hour of latency, cancelled: %v, want context.Canceled", err)
	}
	if got := s.DynamoDB.Requests()["GetItem"]; got != 2 {
		t.Fatalf("GetItem counted %d times, want 2", got)
	}
}

// addLatency delays a Management API request before it is sent.
func TestAWSLatencyManagementAPI(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	client := func(d time.Duration) *apigatewaymanagementapi.Client {
		return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
			BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
			APIOptions:  []func(*middleware.Stack) error{addLatency(d)},
		})
	}
	post := func(ctx context.Context, c *apigatewaymanagementapi.Client) error {
		_, err := c.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("c="), Data: []byte("x")})
		return err
	}
	if err := post(context.Background(), client(0)); err != nil || hits.Load() != 1 {
		t.Fatalf("post without latency: %v, %d requests served", err, hits.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := post(ctx, client(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Fatalf("post with an hour of latency, cancelled: %v, want context.Canceled", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("the delayed post reached the server (%d requests served)", hits.Load())
	}
}
