package sam

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Checks of the roles: no wildcard, and exactly what the code calls.

// checkNoWildcards: no action or resource wildcard, no Not* element, and
// function policies are inline statements (no managed or SAM policies,
// which grant whole services).
func checkNoWildcards(t *tmpl, _ string) []string {
	var probs []string
	t.root.walk("", func(key string, n *node) {
		switch key {
		case "NotAction", "NotResource", "NotPrincipal":
			probs = append(probs, fmt.Sprintf("line %d: %s", n.line, key))
		case "Action":
			for _, a := range n.strs() {
				if a == "*" || strings.HasSuffix(a, ":*") {
					probs = append(probs, fmt.Sprintf("line %d: Action %s", n.line, a))
				}
			}
		case "Resource":
			for _, it := range n.items() {
				s := it.value
				if it.tag == "!Sub" {
					s, _ = subString(it)
				}
				if strings.TrimSpace(s) == "*" && (it.tag == "" || it.tag == "!Sub") {
					probs = append(probs, fmt.Sprintf("line %d: Resource \"*\"", it.line))
				}
			}
		}
	})
	for _, f := range t.functions() {
		pol := f.res.get("Properties", "Policies")
		if pol == nil {
			continue
		}
		if !pol.isSeq {
			probs = append(probs, fmt.Sprintf("%s: Policies is not a list of inline policy documents", f))
			continue
		}
		for _, it := range pol.list {
			if !it.isMap || len(it.keys) != 1 || it.get("Statement") == nil {
				probs = append(probs, fmt.Sprintf("%s: line %d: a policy other than an inline Statement", f, it.line))
			}
		}
	}
	return probs
}

// wantGrants is the least privilege of each function, by the name of its
// directory: the DynamoDB actions on the table named by each environment
// variable (read from internal/dynamo and ratelimit), and the Management API
// methods it calls.
var wantGrants = map[string]struct {
	tables  map[string][]string
	manage  []string
	cognito []string // cognito-idp actions, on the stack's user pool only
}{
	"authorizer": {},
	"admin": {
		tables: map[string][]string{
			"CONNECTIONS_TABLE": {"dynamodb:Query"},                                                               // PlayerConnections
			"BANS_TABLE":        {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"}, // Ban, PutBan, DeleteBan, ListBans
		},
		manage:  []string{"DELETE", "POST"}, // the kicked/banned frame, the close
		cognito: []string{"cognito-idp:AdminDisableUser", "cognito-idp:AdminEnableUser", "cognito-idp:AdminUserGlobalSignOut"},
	},
	"connect": {tables: map[string][]string{
		"BANS_TABLE":        {"dynamodb:GetItem"},                                          // Ban, after the row is written
		"CONNECTIONS_TABLE": {"dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"}, // PutConnection, DeleteConnection of a banned player's row
		"RATE_LIMIT_TABLE":  {"dynamodb:GetItem", "dynamodb:UpdateItem"},                   // AllowConnect
	}},
	"disconnect": {tables: map[string][]string{
		"CONNECTIONS_TABLE": {"dynamodb:DeleteItem", "dynamodb:Query"}, // DeleteConnection
	}},
	"messages": {
		tables: map[string][]string{
			"CONNECTIONS_TABLE": {"dynamodb:DeleteItem", "dynamodb:Query"},                     // PlayerConnections, OnlinePlayers, DeleteConnection on 410
			"MAILBOX_TABLE":     {"dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"}, // Enqueue, Inbox, DeleteQueued
			"RATE_LIMIT_TABLE":  {"dynamodb:GetItem", "dynamodb:UpdateItem"},                   // AllowMessage
			"BANS_TABLE":        {"dynamodb:GetItem"},                                          // Ban, once per connection and instance
		},
		manage: []string{"DELETE", "POST"}, // Sender.Post, Sender.Delete (expired tokens)
	},
}

var (
	manageARNRE = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:execute-api:\$\{AWS::Region\}:\$\{AWS::AccountId\}:\$\{(\w+)\}/\$\{(\w+)\}/(POST|GET|DELETE)/@connections/\*$`)
	// A call on an api value, or through the SDK's paginator of an
	// operation (dynamodb.NewQueryPaginator calls Query).
	sdkCallRE = regexp.MustCompile(`\bapi\.([A-Z][A-Za-z]+)\(|\bdynamodb\.New([A-Z][A-Za-z]+)Paginator\(`)
	sdkDeclRE = regexp.MustCompile(`(?m)^\s+([A-Z][A-Za-z]+)\(ctx context\.Context, in \*dynamodb\.`)
)

// dynamoCalls lists the DynamoDB data-plane actions the adapters call: the
// methods of their DynamoDB API interfaces called on an api value.
// CreateTable and DescribeTable serve local set-up only.
func dynamoCalls(repo string) ([]string, error) {
	var srcs []string
	for _, dir := range []string{"internal/dynamo", "ratelimit"} {
		files, err := filepath.Glob(filepath.Join(repo, dir, "*.go"))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("no Go files in %s (%v)", dir, err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, err
			}
			srcs = append(srcs, string(b))
		}
	}
	declared := map[string]bool{}
	for _, src := range srcs {
		for _, m := range sdkDeclRE.FindAllStringSubmatch(src, -1) {
			declared[m[1]] = true
		}
	}
	if len(declared) == 0 {
		return nil, fmt.Errorf("no DynamoDB API interface found in internal/dynamo or ratelimit")
	}
	var calls []string
	for _, src := range srcs {
		for _, m := range sdkCallRE.FindAllStringSubmatch(src, -1) {
			op := m[1] + m[2] // one of the two groups matched
			a := "dynamodb:" + op
			if declared[op] && op != "CreateTable" && op != "DescribeTable" && !slices.Contains(calls, a) {
				calls = append(calls, a)
			}
		}
	}
	slices.Sort(calls)
	return calls, nil
}

// checkLeastPrivilege: each function is granted exactly wantGrants, and the
// actions granted are exactly those the adapters call.
func checkLeastPrivilege(t *tmpl, repo string) []string {
	var probs []string
	var granted []string
	for _, f := range t.functions() {
		want, known := wantGrants[f.name]
		if !known {
			probs = append(probs, fmt.Sprintf("%s: no expected grants in wantGrants", f))
			continue
		}
		tables := map[string][]string{} // table logical id -> actions
		var verbs, cognitoActions []string
		if pol := f.res.get("Properties", "Policies"); pol != nil {
			for _, doc := range pol.list {
				for _, st := range doc.get("Statement").items() {
					if st.str("Effect") != "Allow" {
						continue
					}
					res := st.get("Resource").items()
					for _, a := range st.strs("Action") {
						service, _, _ := strings.Cut(a, ":")
						for _, r := range res {
							switch {
							case service == "dynamodb" && r.tag == "!GetAtt" && strings.HasSuffix(r.value, ".Arn"):
								id := strings.TrimSuffix(r.value, ".Arn")
								if !slices.Contains(tables[id], a) {
									tables[id] = append(tables[id], a)
								}
								if !slices.Contains(granted, a) {
									granted = append(granted, a)
								}
							case service == "cognito-idp":
								if r.tag != "!GetAtt" || r.value != "UserPool.Arn" {
									probs = append(probs, fmt.Sprintf("%s: %s on something other than the user pool's Arn", f, a))
									continue
								}
								cognitoActions = append(cognitoActions, a)
							case a == "execute-api:ManageConnections":
								s, _ := subString(r)
								m := manageARNRE.FindStringSubmatch(s)
								if m == nil || t.resources[m[1]].str("Type") != "AWS::ApiGatewayV2::Api" || t.params[m[2]] == nil {
									probs = append(probs, fmt.Sprintf("%s: ManageConnections on %q, want arn:...:${<Api>}/${<StageName>}/<METHOD>/@connections/*", f, s))
									continue
								}
								verbs = append(verbs, m[3])
							default:
								probs = append(probs, fmt.Sprintf("%s: line %d: %s on something other than a table's Arn or the stage's @connections", f, r.line, a))
							}
						}
					}
				}
			}
		}
		for envVar, actions := range want.tables {
			table := refOf(f.env().get(envVar))
			got := tables[table]
			slices.Sort(got)
			if !slices.Equal(got, actions) {
				probs = append(probs, fmt.Sprintf("%s: on %s (%s) granted %v, want %v", f, table, envVar, got, actions))
			}
			delete(tables, table)
		}
		for table, actions := range tables {
			probs = append(probs, fmt.Sprintf("%s: granted %v on %s, which it has no need of", f, actions, table))
		}
		slices.Sort(cognitoActions)
		if !slices.Equal(cognitoActions, want.cognito) {
			probs = append(probs, fmt.Sprintf("%s: Cognito actions %v, want %v", f, cognitoActions, want.cognito))
		}
		slices.Sort(verbs)
		if !slices.Equal(verbs, want.manage) {
			probs = append(probs, fmt.Sprintf("%s: ManageConnections for %v, want %v", f, verbs, want.manage))
		}
	}
	calls, err := dynamoCalls(repo)
	if err != nil {
		return append(probs, err.Error())
	}
	slices.Sort(granted)
	if !slices.Equal(granted, calls) {
		probs = append(probs, fmt.Sprintf("DynamoDB actions granted %v, but the adapters call %v", granted, calls))
	}
	return probs
}
