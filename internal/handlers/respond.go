package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// frameResponse is a route response carrying one frame to the client.
func frameResponse(frame any) events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Body: string(protocol.Encode(frame))}
}

// noResponse answers nothing to the client.
func noResponse() events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}
}

// requestLogger returns the logger every line of one invocation uses: ids
// and the route, never the token or the message body.
func requestLogger(l *slog.Logger, rc events.APIGatewayWebsocketProxyRequestContext, playerID string) *slog.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return l.With(
		slog.String("requestId", rc.RequestID),
		slog.String("connectionId", rc.ConnectionID),
		slog.String("route", rc.RouteKey),
		slog.String("playerId", playerID),
	)
}

// logOutcome writes the one line that closes an invocation. Client mistakes
// are warnings; failures of a backing service or a bug are errors with the
// cause.
func logOutcome(ctx context.Context, l *slog.Logger, msg string, err error, attrs ...slog.Attr) {
	if err == nil {
		l.LogAttrs(ctx, slog.LevelInfo, msg, append(attrs, slog.String("code", "ok"))...)
		return
	}
	code := domain.ErrorCode(err)
	attrs = append(attrs, slog.String("code", string(code)))
	switch code {
	case domain.CodeUnavailable, domain.CodeInternal:
		l.LogAttrs(ctx, slog.LevelError, msg, append(attrs, slog.String("cause", err.Error()))...)
	default:
		l.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
	}
}

// unavailable wraps the failure of a backing service.
func unavailable(cause error) error {
	return &domain.Error{Code: domain.CodeUnavailable, Message: "the service is unavailable, try again", Err: cause}
}

// internal wraps a bug or misconfiguration.
func internal(cause error) error {
	return &domain.Error{Code: domain.CodeInternal, Message: "internal error", Err: cause}
}

// measure starts the metrics record of one invocation of route on the clock
// now (time.Now when nil). It returns the record, the start, and emit, which
// the handler defers: it sets the latency and hands the record to s (none
// when nil).
func measure(now func() time.Time, s metrics.Sink, route string) (rec *metrics.Record, start time.Time, emit func()) {
	if now == nil {
		now = time.Now
	}
	rec, start = &metrics.Record{Route: route}, now()
	return rec, start, func() {
		rec.Latency = now().Sub(start)
		if s != nil {
			s.Emit(*rec)
		}
	}
}
