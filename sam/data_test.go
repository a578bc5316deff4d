package sam

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Checks of the resources that hold data: tables, the user pool,
// parameters, outputs and what a stack deletion keeps.

// tableKeys are the key schemas of internal/dynamo (package comment) and
// ratelimit (TableInput), by the variable that names the table.
var tableKeys = map[string][]string{
	"CONNECTIONS_TABLE": {"playerId S HASH", "slot N RANGE"},
	"MAILBOX_TABLE":     {"playerId S HASH", "messageId S RANGE"},
	"RATE_LIMIT_TABLE":  {"key S HASH"},
	"BANS_TABLE":        {"playerId S HASH"},
}

// checkTables: on-demand, encrypted, TTL on expiresAt, and the key schema
// the code expects of the role each table plays.
func checkTables(t *tmpl, _ string) []string {
	var probs []string
	role := map[string]string{} // table logical id -> variable naming it
	for _, f := range t.functions() {
		for envVar := range tableKeys {
			if id := refOf(f.env().get(envVar)); id != "" {
				if r, ok := role[id]; ok && r != envVar {
					probs = append(probs, fmt.Sprintf("%s is both %s and %s", id, r, envVar))
				}
				role[id] = envVar
			}
		}
	}
	tables := t.ofType("AWS::DynamoDB::Table")
	if len(tables) == 0 {
		probs = append(probs, "no AWS::DynamoDB::Table")
	}
	for _, id := range tables {
		p := t.resources[id].get("Properties")
		if p.str("BillingMode") != "PAY_PER_REQUEST" {
			probs = append(probs, fmt.Sprintf("%s: BillingMode %q, want PAY_PER_REQUEST", id, p.str("BillingMode")))
		}
		if p.str("TimeToLiveSpecification", "AttributeName") != "expiresAt" || p.str("TimeToLiveSpecification", "Enabled") != "true" {
			probs = append(probs, fmt.Sprintf("%s: TTL is not enabled on expiresAt", id))
		}
		if p.str("SSESpecification", "SSEEnabled") != "true" {
			probs = append(probs, fmt.Sprintf("%s: SSESpecification.SSEEnabled is not true", id))
		}
		r, ok := role[id]
		if !ok {
			probs = append(probs, fmt.Sprintf("%s: no function names it in %v", id, []string{"CONNECTIONS_TABLE", "MAILBOX_TABLE", "RATE_LIMIT_TABLE"}))
			continue
		}
		types := map[string]string{}
		for _, a := range p.get("AttributeDefinitions").items() {
			types[a.str("AttributeName")] = a.str("AttributeType")
		}
		var keys []string
		for _, k := range p.get("KeySchema").items() {
			keys = append(keys, k.str("AttributeName")+" "+types[k.str("AttributeName")]+" "+k.str("KeyType"))
		}
		if !slices.Equal(keys, tableKeys[r]) {
			probs = append(probs, fmt.Sprintf("%s (%s): key schema %v, want %v", id, r, keys, tableKeys[r]))
		}
		if len(types) != len(keys) {
			probs = append(probs, fmt.Sprintf("%s: AttributeDefinitions must define the key attributes only", id))
		}
	}
	return probs
}

// checkCognito: a pool with an admin group and a public client that can
// sign players in with a password and refresh their tokens.
func checkCognito(t *tmpl, _ string) []string {
	var probs []string
	pools := t.ofType("AWS::Cognito::UserPool")
	if len(pools) != 1 {
		return []string{fmt.Sprintf("%d AWS::Cognito::UserPool, want 1", len(pools))}
	}
	clients := t.ofType("AWS::Cognito::UserPoolClient")
	if len(clients) == 0 {
		probs = append(probs, "no AWS::Cognito::UserPoolClient")
	}
	for _, id := range clients {
		p := t.resources[id].get("Properties")
		if p.str("GenerateSecret") != "false" {
			probs = append(probs, fmt.Sprintf("%s: GenerateSecret must be false for a game client", id))
		}
		flows := p.strs("ExplicitAuthFlows")
		for _, want := range []string{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} {
			if !slices.Contains(flows, want) {
				probs = append(probs, fmt.Sprintf("%s: ExplicitAuthFlows lacks %s", id, want))
			}
		}
	}
	admin := false
	for _, id := range t.ofType("AWS::Cognito::UserPoolGroup") {
		p := t.resources[id].get("Properties")
		admin = admin || (p.str("GroupName") == "admin" && refOf(p.get("UserPoolId")) == pools[0])
	}
	if !admin {
		probs = append(probs, "no UserPoolGroup admin in the pool")
	}
	return probs
}

// durationVariables are read by config as Go durations.
var durationVariables = []string{"MAILBOX_TTL", "CONNECTION_TTL"}

// durationSamples are tried against each duration parameter's pattern:
// whatever the pattern lets through must start the functions.
var durationSamples = []string{"24h", "1h30m", "2h10m", "90s", "1h0m", "0h", "1d", "24 h", "1.5h", "-1h", "5ms", "", "h"}

// checkParametersAndOutputs: every parameter has a default; CloudFormation
// refuses what the functions would refuse at start wherever it can (number
// ranges or allowed values, duration patterns); every value it lets through
// at the edge of a range starts every function; the outputs a client and an
// operator need are there.
func checkParametersAndOutputs(t *tmpl, _ string) []string {
	var probs []string
	base := t.configProblems(nil) // checkConfigLoads reports these
	// added returns the problems the functions have with parameter name
	// set to v that they do not have with the defaults.
	added := func(name, v string) []string {
		return slices.DeleteFunc(t.configProblems(map[string]string{name: v}), func(e string) bool { return slices.Contains(base, e) })
	}
	durations := map[string]bool{}
	for _, f := range t.functions() {
		for _, v := range durationVariables {
			if p := refOf(f.env().get(v)); p != "" {
				durations[p] = true
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.params)) {
		p := t.params[name]
		if p.get("Default") == nil {
			probs = append(probs, fmt.Sprintf("parameter %s has no Default", name))
		}
		if p.str("Type") == "Number" && p.get("AllowedValues") == nil {
			min, max := p.str("MinValue"), p.str("MaxValue")
			if min == "" || max == "" {
				probs = append(probs, fmt.Sprintf("parameter %s: a Number needs MinValue and MaxValue, or AllowedValues", name))
			}
			for _, v := range []string{min, max} {
				if v == "" {
					continue
				}
				for _, e := range added(name, v) {
					probs = append(probs, fmt.Sprintf("parameter %s=%s is allowed but: %s", name, v, e))
				}
			}
		}
		if durations[name] {
			pattern := p.str("AllowedPattern")
			re, err := regexp.Compile(pattern)
			if pattern == "" || err != nil {
				probs = append(probs, fmt.Sprintf("parameter %s: a duration needs an AllowedPattern (%v)", name, err))
				continue
			}
			for _, v := range durationSamples {
				if !re.MatchString(v) {
					continue
				}
				for _, e := range added(name, v) {
					probs = append(probs, fmt.Sprintf("parameter %s=%q matches its AllowedPattern but: %s", name, v, e))
				}
			}
			if re.MatchString("1d") {
				probs = append(probs, fmt.Sprintf("parameter %s: AllowedPattern lets 1d through", name))
			}
		}
	}
	out := t.root.get("Outputs")
	for _, name := range []string{"WebSocketURL", "ManagementEndpoint", "UserPoolId", "UserPoolClientId", "PlayerIdClaim", "ConnectionsTableName", "MailboxTableName", "RateLimitTableName"} {
		if out.get(name, "Value") == nil {
			probs = append(probs, fmt.Sprintf("no output %s", name))
		}
	}
	if s, _ := subString(out.get("WebSocketURL", "Value")); !strings.HasPrefix(s, "wss://") {
		probs = append(probs, fmt.Sprintf("output WebSocketURL %q does not start with wss://", s))
	}
	endpoint, _ := subString(out.get("ManagementEndpoint", "Value"))
	for _, f := range t.functions() {
		if v := f.env().get("MANAGEMENT_ENDPOINT"); v != nil {
			if s, _ := subString(v); s != endpoint {
				probs = append(probs, fmt.Sprintf("output ManagementEndpoint %q differs from %s's MANAGEMENT_ENDPOINT %q", endpoint, f, s))
			}
		}
	}
	return probs
}

// checkRetainData: the resources that hold players' data (the user pool,
// the tables) are kept on a stack delete or a replacement when RetainData
// is "true" (the default), the pool is protected from deletion then, and
// the mailbox can be restored to any point in time.
func checkRetainData(t *tmpl, _ string) []string {
	var probs []string
	if !slices.Contains(t.root.strs("Transform"), "AWS::LanguageExtensions") {
		probs = append(probs, "Transform lacks AWS::LanguageExtensions, which DeletionPolicy: !If needs")
	}
	if p := t.params["RetainData"]; p == nil || p.str("Default") != "true" {
		probs = append(probs, `parameter RetainData with Default "true" missing`)
	}
	cond := ""
	for name, c := range t.conditions {
		if c.tag == "!Equals" && len(c.list) == 2 && refOf(c.list[0]) == "RetainData" && c.list[1].value == "true" {
			cond = name
		}
	}
	if cond == "" {
		return append(probs, "no condition !Equals [!Ref RetainData, \"true\"]")
	}
	isIf := func(n *node, yes, no string) bool {
		return n != nil && n.tag == "!If" && len(n.list) == 3 && n.list[0].value == cond && n.list[1].value == yes && n.list[2].value == no
	}
	stateful := append(t.ofType("AWS::Cognito::UserPool"), t.ofType("AWS::DynamoDB::Table")...)
	for _, id := range stateful {
		r := t.resources[id]
		for _, attr := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
			if !isIf(r.get(attr), "Retain", "Delete") {
				probs = append(probs, fmt.Sprintf("%s: %s is not !If [%s, Retain, Delete]", id, attr, cond))
			}
		}
	}
	for _, id := range t.ofType("AWS::Cognito::UserPool") {
		if !isIf(t.resources[id].get("Properties", "DeletionProtection"), "ACTIVE", "INACTIVE") {
			probs = append(probs, fmt.Sprintf("%s: DeletionProtection is not !If [%s, ACTIVE, INACTIVE]", id, cond))
		}
	}
	for _, f := range t.functions() {
		if id := refOf(f.env().get("MAILBOX_TABLE")); id != "" && t.resources[id].str("Properties", "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != "true" {
			probs = append(probs, fmt.Sprintf("%s: point-in-time recovery is off on the mailbox", id))
		}
	}
	return probs
}
