package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
)

// Disconnect handles $disconnect: it deletes the row of this connection of
// the authorizer's player, and nothing else. API Gateway runs it after the
// socket is gone and only on a best-effort basis, so rows also carry a TTL and
// are removed when a post finds them gone.
type Disconnect struct {
	Connections ConnectionDeleter
	Now         func() time.Time // default time.Now
	Logger      *slog.Logger     // default: discard
	Metrics     metrics.Sink     // default: discard
}

// ConnectionDeleter deletes one connection of one player.
type ConnectionDeleter interface {
	DeleteConnection(ctx context.Context, playerID, connectionID string) error
}

// Handle runs $disconnect.
func (h *Disconnect) Handle(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	_, _, emit := measure(h.Now, h.Metrics, "$disconnect")
	defer emit()
	rc := req.RequestContext
	id, err := identityFrom(rc)
	log := requestLogger(h.Logger, rc, id.PlayerID)
	if err != nil {
		logOutcome(ctx, log, "disconnect without identity", internal(err))
		return events.APIGatewayProxyResponse{StatusCode: http.StatusInternalServerError}, nil
	}
	if err := h.Connections.DeleteConnection(ctx, id.PlayerID, rc.ConnectionID); err != nil {
		logOutcome(ctx, log, "disconnect cleanup failed", unavailable(err))
		return events.APIGatewayProxyResponse{StatusCode: http.StatusInternalServerError}, nil
	}
	logOutcome(ctx, log, "disconnected", nil,
		slog.Int64("closeStatus", rc.DisconnectStatusCode), slog.String("closeReason", aws.ToString(rc.DisconnectReason)))
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
}
