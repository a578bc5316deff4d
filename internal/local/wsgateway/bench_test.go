package wsgateway

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
)

// BenchmarkConnect measures the connection setup rate through the gateway:
// the upgrade, a trivial authorizer and $connect, then a client close (and
// $disconnect, off the client's path).
func BenchmarkConnect(b *testing.B) {
	h := newHarness(b, func(c *Config) {
		c.Authorizer = func(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			return events.APIGatewayCustomAuthorizerResponse{
				PrincipalID:    "bench",
				PolicyDocument: allowPolicy("Allow", req.MethodArn),
				Context:        map[string]any{"playerId": "bench"},
			}, nil
		}
		c.Routes = map[string]Route{RouteConnect: {Handler: ok}, RouteDisconnect: {Handler: ok}}
		c.Logger = slog.New(slog.DiscardHandler)
	})
	url := h.wsURL("bench")

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
