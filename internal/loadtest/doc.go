// Package loadtest is the load generator behind cmd/loadtest. It measures a
// serverless-websockets stack end to end, the way a team sizing a deployment
// would: real WebSocket clients with real tokens, a chosen traffic pattern
// at a chosen load, and for every step of a message's life its count, its
// errors by code and its latency percentiles, every message checked for loss
// and duplicates.
//
// A run is described by Options, which come from the command line: the
// flags RegisterFlags defines, checked by Validate. Run carries it out and
// writes the report:
//
//	var o loadtest.Options
//	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
//	o.RegisterFlags(fs)
//	if err := fs.Parse(args); err != nil {
//		return err
//	}
//	if err := o.Validate(fs); err != nil {
//		return err
//	}
//	return loadtest.Run(ctx, o, os.Stdout, os.Stderr, nil)
//
// The scenarios, the open and closed loops, the steps and the outputs are
// described with the command (go doc ./cmd/loadtest).
//
// Inside, a target is the stack under test (embedded, from
// internal/local; a running local stack; or a deployed WebSocket API)
// and the source of its players' identities (development tokens or Cognito
// users); a load drives the players through the connect, run, drain and
// disconnect phases; a recorder accounts for every message and step, the
// latencies in log-bucketed histograms; and the report is written as text,
// JSON or a self-contained HTML page with inline SVG charts. Package relay,
// beside it, is the raw WebSocket relay that serves as the benchmarks' floor
// (-serve-relay).
package loadtest
