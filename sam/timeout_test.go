package sam

import (
	"strconv"
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/awsclients"
	"github.com/serverless-websockets/serverless-websockets/internal/local/wsgateway"
)

// TestFunctionTimeouts: the local gateway's default function timeout is the
// template's, and one AWS call, every attempt and back-off of it, fits in
// the time a handler keeps to work (at least nine tenths of it).
func TestFunctionTimeouts(t *testing.T) {
	tp, err := loadTemplate(readTemplate(t), ".")
	if err != nil {
		t.Fatalf("read template.yaml: %v", err)
	}
	fns := tp.functions()
	if len(fns) == 0 {
		t.Fatal("no functions in the template")
	}
	for _, f := range fns {
		secs, err := strconv.Atoi(f.res.str("Properties", "Timeout"))
		if err != nil {
			t.Errorf("%s: Timeout %q is not a number of seconds", f, f.res.str("Properties", "Timeout"))
			continue
		}
		timeout := time.Duration(secs) * time.Second
		if timeout != wsgateway.DefaultFunctionTimeout {
			t.Errorf("%s: Timeout %v, but the local gateway's default is %v", f, timeout, wsgateway.DefaultFunctionTimeout)
		}
		call := awsclients.MaxAttempts*awsclients.AttemptTimeout + (awsclients.MaxAttempts-1)*awsclients.MaxBackoff
		if call > timeout*9/10 {
			t.Errorf("%s: one AWS call may take %v, more than nine tenths of the %v timeout", f, call, timeout)
		}
	}
}
