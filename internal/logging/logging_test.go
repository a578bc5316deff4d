package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

func TestLambdaLoggerCarriesRequestID(t *testing.T) {
	var buf bytes.Buffer
	l := NewLambda(&buf, slog.LevelInfo).With(slog.String("route", "ping"))
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-42"})
	l.InfoContext(ctx, "handled")
	l.DebugContext(ctx, "hidden")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("want one JSON line, got %q", buf.String())
	}
	if line["awsRequestId"] != "req-42" || line["route"] != "ping" || line["msg"] != "handled" {
		t.Fatalf("line = %v", line)
	}
}
