package config

import "os"

// TestEnv is what the test command (scripts/test) tells the test suites
// through the environment.
type TestEnv struct {
	// DynaliteEndpoint is the URL of the dynalite engine the test command
	// started (DYNALITE_ENDPOINT); empty when none runs.
	DynaliteEndpoint string
	// CI is CI=true: every tier must run, none may skip.
	CI bool
}

// LoadTestEnv reads TestEnv from the process environment. It is the one
// read of the environment below a main, for test-support packages that no
// main calls.
func LoadTestEnv() TestEnv {
	return parseTestEnv(os.Getenv)
}

func parseTestEnv(getenv func(string) string) TestEnv {
	return TestEnv{DynaliteEndpoint: getenv("DYNALITE_ENDPOINT"), CI: getenv("CI") == "true"}
}
