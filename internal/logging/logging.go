// Package logging builds the slog loggers: JSON lines in Lambda, carrying
// the Lambda request id of the invocation taken from the context, so that
// every line of one invocation can be found together.
package logging

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// NewLambda returns a JSON logger for Lambda. Log with the ...Context
// variants so that awsRequestId rides along.
func NewLambda(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(requestID{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

// requestID adds the Lambda request id to every record logged with a
// Lambda context.
type requestID struct{ slog.Handler }

func (h requestID) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("awsRequestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestID) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestID{h.Handler.WithAttrs(attrs)}
}

func (h requestID) WithGroup(name string) slog.Handler {
	return requestID{h.Handler.WithGroup(name)}
}
