package gateway

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
)

// BenchmarkConnect measures the connection setup rate through the gateway:
// the upgrade, a trivial authorizer and $connect, then a client close (and
// $disconnect, off the client's path).
func BenchmarkConnect(b *testing.B) {
	ok := func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	authorize := func(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		return events.APIGatewayCustomAuthorizerResponse{
			PrincipalID:    "bench",
			PolicyDocument: allowPolicy("Allow", req.MethodArn),
			Context:        map[string]any{"playerId": "bench"},
		}, nil
	}
	g, err := New(Config{
		Authorizer: authorize,
		Routes:     map[string]Route{RouteConnect: {Handler: ok}, RouteDisconnect: {Handler: ok}},
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	defer func() { _ = g.Shutdown(context.Background()) }()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws?token=bench"

	connect := func(ctx context.Context) error {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			return err
		}
		return c.Close(websocket.StatusNormalClosure, "")
	}
	b.Run("serial", func(b *testing.B) {
		ctx := context.Background()
		n := 0
		for b.Loop() {
			if err := connect(ctx); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "connects/s")
	})
	b.Run("parallel", func(b *testing.B) {
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if err := connect(ctx); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		})
		b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "connects/s")
	})
}
