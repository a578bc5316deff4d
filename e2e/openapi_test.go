package e2e

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/serverless-websockets/serverless-websockets/internal/admin"
)

// TestAdminOpenAPI: docs/admin-openapi.yaml describes exactly the admin
// API's routes, and each operation's x-try requests, sent to the local
// stack as the operator ops, get the status the document gives them.
func TestAdminOpenAPI(t *testing.T) {
	b, err := os.ReadFile("../docs/admin-openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Try []struct {
				PlayerID     string         `yaml:"playerId"`
				ConnectionID string         `yaml:"connectionId"`
				Query        string         `yaml:"query"`
				Body         map[string]any `yaml:"body"`
				Status       int            `yaml:"status"`
			} `yaml:"x-try"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/admin-openapi.yaml: %v", err)
	}
	var routes []string
	for path, ops := range doc.Paths {
		for method := range ops {
			routes = append(routes, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(routes)
	want := slices.Sorted(slices.Values(admin.Routes))
	if !slices.Equal(routes, want) {
		t.Fatalf("the document describes %v, the admin API serves %v", routes, want)
	}

	s := startStack(t, noLimits())
	ops := s.tokenIn("ops", "admin")
	s.dial("bob")
	// Run the operations in an order whose x-try make sense in turn: ban
	// before unban, the rest in any order.
	order := []string{"GET /admin/players/{playerId}", "DELETE /admin/players/{playerId}/connections", "DELETE /admin/connections/{connectionId}",
		"POST /admin/players/{playerId}/ban", "GET /admin/bans", "DELETE /admin/players/{playerId}/ban"}
	tried := 0
	for _, route := range order {
		method, path, _ := strings.Cut(route, " ")
		for _, try := range doc.Paths[path][strings.ToLower(method)].Try {
			p := strings.NewReplacer("{playerId}", url.PathEscape(try.PlayerID), "{connectionId}", url.PathEscape(try.ConnectionID)).Replace(path)
			if try.Query != "" {
				p += "?" + try.Query
			}
			var body any
			if try.Body != nil {
				body = try.Body
			}
			status, got := s.admin(method, p, ops, body)
			if status != try.Status {
				t.Errorf("%s %s %s: %d %v, want %d", method, p, fmt.Sprint(body), status, got, try.Status)
			}
			tried++
		}
	}
	if tried < 10 {
		t.Errorf("only %d requests tried", tried)
	}
}
