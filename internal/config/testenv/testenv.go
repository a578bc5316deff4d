// Package testenv reads what the test command (scripts/test) tells the test
// suites through the environment. It lives beside package config, the one
// reader of the environment below the mains, and imports nothing of ours, so
// that any package's tests may use it.
package testenv

import "os"

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
