package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestStringClaims(t *testing.T) {
	var claims map[string]any
	if err := json.Unmarshal([]byte(`{"sub":"root","cognito:groups":["admin","ops"],"exp":1700000000,"admin":true,"auth_time":1.5}`), &claims); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"sub": "root", "cognito:groups": "[admin ops]", "exp": "1700000000", "admin": "true", "auth_time": "1.5"}
	if got := StringClaims(claims); !reflect.DeepEqual(got, want) {
		t.Errorf("StringClaims = %v, want %v", got, want)
	}
}
