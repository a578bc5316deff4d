package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Run measures the stack o names and writes the report to stdout (text,
// or JSON with -json) and to the -html file; with -serve-relay it serves the
// raw relay instead until ctx ends. The expected cost of a run against a
// deployed stack and the embedded stack's logs go to stderr, a live
// progress line to progress (nil: none). When ctx ends or -timeout passes,
// the run stops and Run returns an error; the report is still written and
// says that its figures are partial. Whatever happens, every client is
// closed, an embedded stack is shut down and, with -cleanup, the Cognito
// users are deleted.
func Run(ctx context.Context, o Options, stdout, stderr, progress io.Writer) (err error) {
	if o.serveRelay != "" {
		return serveRelay(ctx, o.serveRelay, stdout)
	}
	var est *usageEstimate
	if o.url != "" && !isLoopbackURL(o.url) {
		est = new(estimate(o))
		est.writeText(stderr)
	}
	tgt, err := newTarget(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
		defer cancel()
		if c, ok := tgt.identities.(*cognitoPlayers); ok && o.cognito.cleanup {
			if cerr := c.cleanup(cctx); cerr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: %w", cerr))
			}
		}
		if cerr := tgt.close(cctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("shut the stack down: %w", cerr))
		}
	}()

	rep, measureErr := measure(ctx, o, tgt, progress)
	rep.Estimate = est
	if o.html != "" {
		if werr := writeHTMLFile(o.html, rep); werr != nil {
			measureErr = errors.Join(measureErr, werr)
		}
	}
	if o.json {
		if werr := rep.writeJSON(stdout); werr != nil {
			return errors.Join(measureErr, werr)
		}
	} else {
		rep.writeText(stdout)
	}
	return measureErr
}
