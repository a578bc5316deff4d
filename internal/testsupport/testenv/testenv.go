// Package testenv reads what the test command (scripts/test) tells the test
// suites through the environment. It lives beside package config, the one
// reader of the environment below the mains, and imports nothing of ours, so
// that any package's tests may use it.
package testenv

import (
	"os"
	"testing"
)

// Env is what the test command tells the test suites.
type Env struct {
	// DynaliteEndpoint is the URL of the dynalite engine the test command
	// started (DYNALITE_ENDPOINT); empty when none runs.
	DynaliteEndpoint string
	// CognitoLocalEndpoint is the URL of the cognito-local the test command
	// started (COGNITO_LOCAL_ENDPOINT); empty when none runs.
	CognitoLocalEndpoint string
	// CI is CI=true: every tier must run, none may skip.
	CI bool
}

// Load reads Env from the process environment, for test-support packages
// that no main calls.
func Load() Env {
	return parse(os.Getenv)
}

func parse(getenv func(string) string) Env {
	return Env{DynaliteEndpoint: getenv("DYNALITE_ENDPOINT"), CognitoLocalEndpoint: getenv("COGNITO_LOCAL_ENDPOINT"), CI: getenv("CI") == "true"}
}

// Missing stops tb, which needs something the machine lacks: outside CI it
// skips with why, in CI, where every tier must run, it fails.
func Missing(tb testing.TB, why string) {
	tb.Helper()
	if Load().CI {
		tb.Fatal(why)
	}
	tb.Skip("skipping: " + why)
}

// Dynalite returns the endpoint of the dynalite that scripts/test starts
// (tools/dynalite), or stops tb through Missing when none runs.
func Dynalite(tb testing.TB) string {
	tb.Helper()
	return endpoint(tb, Load().DynaliteEndpoint, "DYNALITE_ENDPOINT", "tools/dynalite")
}

// CognitoLocal returns the endpoint of the cognito-local that scripts/test
// starts (tools/cognito-local), or stops tb through Missing when none runs.
func CognitoLocal(tb testing.TB) string {
	tb.Helper()
	return endpoint(tb, Load().CognitoLocalEndpoint, "COGNITO_LOCAL_ENDPOINT", "tools/cognito-local")
}

func endpoint(tb testing.TB, url, name, tool string) string {
	tb.Helper()
	if url == "" {
		Missing(tb, name+" is not set: run scripts/test, or start node "+tool+"/serve.js and export the URL it prints")
	}
	return url
}
