package testenv

import "testing"

func TestParse(t *testing.T) {
	env := map[string]string{"DYNALITE_ENDPOINT": "http://127.0.0.1:4567", "COGNITO_LOCAL_ENDPOINT": "http://127.0.0.1:9229", "CI": "true"}
	if got := parse(func(k string) string { return env[k] }); got.DynaliteEndpoint != "http://127.0.0.1:4567" || got.CognitoLocalEndpoint != "http://127.0.0.1:9229" || !got.CI {
		t.Errorf("parse = %+v", got)
	}
	env["CI"] = "1"
	if got := parse(func(k string) string { return env[k] }); got.CI {
		t.Error("CI=1 counted as CI=true")
	}
}
