package sam

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The checks below read template.yaml with gopkg.in/yaml.v3 (yaml_test.go)
// and compare it with the code: each returns the problems it finds, so that
// TestTemplate can report them all and TestChecksCatch can prove, on broken
// copies of the template, that each check can fail. Generic checks (that
// references resolve, property types and values, unused parameters) are
// left to cfn-lint, which scripts/test runs; these are the project's own.

// tmpl is a parsed template.
type tmpl struct {
	root       *node
	dir        string // the template's directory: CodeUri is relative to it
	resources  map[string]*node
	params     map[string]*node
	conditions map[string]*node
}

func loadTemplate(src, dir string) (*tmpl, error) {
	root, err := parseYAML(src)
	if err != nil {
		return nil, err
	}
	if !root.isMap {
		return nil, fmt.Errorf("the template is not a mapping")
	}
	section := func(name string) map[string]*node {
		if s := root.get(name); s != nil && s.isMap {
			return s.m
		}
		return map[string]*node{}
	}
	return &tmpl{root: root, dir: dir, resources: section("Resources"), params: section("Parameters"), conditions: section("Conditions")}, nil
}

// ofType returns the logical ids of the resources of type typ, sorted.
func (t *tmpl) ofType(typ string) []string {
	var ids []string
	for id, r := range t.resources {
		if r.str("Type") == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// function is an AWS::Serverless::Function. Its code is functions/<name>,
// where <name> is its logical id without "Function", in lower case: the
// Makefile's build-%Function rule, which sam build runs, builds it so.
type function struct {
	id   string
	res  *node
	name string // authorizer, connect, ...
}

func (f function) String() string { return f.id + " (functions/" + f.name + ")" }

func (f function) env() *node { return f.res.get("Properties", "Environment", "Variables") }

func (t *tmpl) functions() []function {
	var fs []function
	for _, id := range t.ofType("AWS::Serverless::Function") {
		fs = append(fs, function{id: id, res: t.resources[id], name: strings.ToLower(strings.TrimSuffix(id, "Function"))})
	}
	return fs
}

// refOf returns the logical id n refers to with !Ref, or "".
func refOf(n *node) string {
	if n == nil || n.tag != "!Ref" || n.isMap || n.isSeq {
		return ""
	}
	return n.value
}

// subString returns the string of a !Sub (either form) and the names of its
// local variables.
func subString(n *node) (string, map[string]bool) {
	locals := map[string]bool{}
	if n == nil || n.tag != "!Sub" {
		return "", locals
	}
	if !n.isSeq {
		return n.value, locals
	}
	if len(n.list) == 0 {
		return "", locals
	}
	if len(n.list) > 1 && n.list[1].isMap {
		for _, k := range n.list[1].keys {
			locals[k] = true
		}
	}
	return n.list[0].value, locals
}

var subVarRE = regexp.MustCompile(`\$\{([^}]*)\}`)

// ---------------------------------------------------------------- checks

type check struct {
	name string
	fn   func(t *tmpl, repo string) []string
}

var checks = []check{
	{"functions", checkFunctions},
	{"every function deployed", checkEveryFunctionDeployed},
	{"environment", checkEnvironment},
	{"config loads", checkConfigLoads},
	{"connect authorizer", checkConnectAuthorizer},
	{"routes", checkRoutes},
	{"no wildcards", checkNoWildcards},
	{"least privilege", checkLeastPrivilege},
	{"tables", checkTables},
	{"cognito", checkCognito},
	{"retained data", checkRetainData},
	{"parameters and outputs", checkParametersAndOutputs},
	{"admin API", checkAdminAPI},
}

// ----------------------------------------------------------------- tests

func readTemplate(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runChecks runs every check, prefixing each problem with the check's name.
func runChecks(tp *tmpl, repo string) []string {
	var probs []string
	for _, c := range checks {
		for _, p := range c.fn(tp, repo) {
			probs = append(probs, c.name+": "+p)
		}
	}
	return probs
}

func TestTemplate(t *testing.T) {
	tp, err := loadTemplate(readTemplate(t), ".")
	if err != nil {
		t.Fatalf("read template.yaml: %v", err)
	}
	if tf := tp.root.strs("Transform"); !slices.Contains(tf, "AWS::Serverless-2016-10-31") {
		t.Errorf("Transform %q, want AWS::Serverless-2016-10-31 among them", tf)
	}
	if n := len(tp.functions()); n != 5 {
		t.Errorf("%d functions, want 5 (admin, authorizer, connect, disconnect, messages)", n)
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range c.fn(tp, "..") {
				t.Error(p)
			}
		})
	}
}

// TestChecksCatch breaks the template one way at a time and expects a
// check to say so: the checks of TestTemplate can fail.
func TestChecksCatch(t *testing.T) {
	base := readTemplate(t)
	tests := []struct {
		name     string
		old, new string // replaced exactly once in template.yaml
		want     string // in one of the problems found
	}{
		{"$connect without authorization", "AuthorizationType: CUSTOM", "AuthorizationType: NONE", "$connect has AuthorizationType NONE"},
		{"$connect authorization unset", "      AuthorizationType: CUSTOM\n", "", "NONE (unset)"},
		{"token authorizer", "AuthorizerType: REQUEST", "AuthorizerType: TOKEN", "AuthorizerType TOKEN"},
		{"token from a header", "route.request.querystring.token", "route.request.header.Authorization", "IdentitySource"},
		{"reserved variable", "          LOG_LEVEL: !Ref LogLevel\n      Policies:\n        - Statement:\n            - Sid: ReleaseConnectionSlot", "          LOG_LEVEL: !Ref LogLevel\n          AWS_REGION: eu-west-1\n      Policies:\n        - Statement:\n            - Sid: ReleaseConnectionSlot", "AWS_REGION is reserved"},
		{"ID tokens", "JWT_TOKEN_USE: access", "JWT_TOKEN_USE: id", "JWT_TOKEN_USE \"id\""},
		{"JWKS of another issuer", "${UserPool}/.well-known/jwks.json", "${UserPool}/jwks.json", "JWKS_URL"},
		{"message size over the frame limit", "    Default: 8192\n", "    Default: 65536\n", "MAX_MESSAGE_BYTES must be at most 32768"},
		{"bad duration", "    Default: 24h\n", "    Default: a day\n", "MAILBOX_TTL"},
		{"negative burst", "    Default: 20\n    MinValue: 0\n", "    Default: -1\n    MinValue: 0\n", "RATE_MESSAGES_BURST"},
		{"deprecated runtime", "$connect; stores the player's connection under the connection cap and connect rate.\n      CodeUri: ../\n      Handler: bootstrap\n      Runtime: provided.al2023", "$connect; stores the player's connection under the connection cap and connect rate.\n      CodeUri: ../\n      Handler: bootstrap\n      Runtime: go1.x", "ConnectFunction: Runtime \"go1.x\""},
		{"wrong architecture", "$disconnect; deletes the row of the closed connection.\n      CodeUri: ../\n      Handler: bootstrap\n      Runtime: provided.al2023\n      Architectures:\n        - arm64", "$disconnect; deletes the row of the closed connection.\n      CodeUri: ../\n      Handler: bootstrap\n      Runtime: provided.al2023\n      Architectures:\n        - x86_64", "DisconnectFunction: Architectures [x86_64]"},
		{"x86 twice", "      MemorySize: 128\n", "      MemorySize: 128\n      Architectures:\n        - x86_64\n", "duplicate key Architectures"},
		{"CodeUri not the module root", "sendmessage, inbox, presence, ping and $default.\n      CodeUri: ../", "sendmessage, inbox, presence, ping and $default.\n      CodeUri: ../functions/messages/", "CodeUri \"../functions/messages/\" is not the module root"},
		{"Go builder", "    Metadata:\n      BuildMethod: makefile\n    Properties:\n      Description: $disconnect", "    Metadata:\n      BuildMethod: go1.x\n    Properties:\n      Description: $disconnect", "DisconnectFunction: Metadata.BuildMethod \"go1.x\""},
		{"function without code", "  DisconnectFunction:\n", "  DropFunction:\n", "functions/drop/main.go: no such file"},
		{"function not deployed", "  DisconnectFunction:\n", "  DropFunction:\n", "functions/disconnect is no function of the template"},
		{"variable missing", "          MAILBOX_TABLE: !Ref MailboxTable\n", "", "MAILBOX_TABLE is read by the function but not set"},
		{"variable not read", "          MAILBOX_TABLE: !Ref MailboxTable\n", "          MAILBOX_TABLE: !Ref MailboxTable\n          MAILBOX_TABEL: !Ref MailboxTable\n", "MAILBOX_TABEL is set but the function does not read it"},
		{"sender quota not passed", "          MAILBOX_MAX_PER_SENDER: !Ref MailboxMaxPerSender\n", "", "MAILBOX_MAX_PER_SENDER is read by the function but not set"},
		{"TTL off", "        AttributeName: expiresAt\n        Enabled: true\n      PointInTimeRecoverySpecification:", "        AttributeName: expiresAt\n        Enabled: false\n      PointInTimeRecoverySpecification:", "MailboxTable: TTL is not enabled on expiresAt"},
		{"provisioned table", "      BillingMode: PAY_PER_REQUEST\n      AttributeDefinitions:\n        - AttributeName: playerId\n          AttributeType: S\n        - AttributeName: messageId", "      BillingMode: PROVISIONED\n      AttributeDefinitions:\n        - AttributeName: playerId\n          AttributeType: S\n        - AttributeName: messageId", "MailboxTable: BillingMode \"PROVISIONED\""},
		{"a deployment made once", "      StageName: !Ref StageName\n      AutoDeploy: true\n", "      StageName: !Ref StageName\n      DeploymentId: !Ref WebSocketApi\n", "want AutoDeploy true and no DeploymentId"},
		{"stage before a route response", "      - PingRouteResponse\n", "", "DependsOn lacks route response PingRouteResponse"},
		{"table deleted with the stack", "  MailboxTable:\n    Type: AWS::DynamoDB::Table\n    DeletionPolicy: !If [RetainDataEnabled, Retain, Delete]", "  MailboxTable:\n    Type: AWS::DynamoDB::Table\n    DeletionPolicy: Delete", "MailboxTable: DeletionPolicy is not !If [RetainDataEnabled, Retain, Delete]"},
		{"pool lost on replacement", "    Type: AWS::Cognito::UserPool\n    DeletionPolicy: !If [RetainDataEnabled, Retain, Delete]\n    UpdateReplacePolicy: !If [RetainDataEnabled, Retain, Delete]\n", "    Type: AWS::Cognito::UserPool\n    DeletionPolicy: !If [RetainDataEnabled, Retain, Delete]\n", "UserPool: UpdateReplacePolicy is not"},
		{"pool unprotected", "DeletionProtection: !If [RetainDataEnabled, ACTIVE, INACTIVE]", "DeletionProtection: INACTIVE", "UserPool: DeletionProtection is not"},
		{"data deleted by default", "    Default: \"true\"\n    AllowedValues:\n      - \"true\"\n      - \"false\"\n    Description: Keep", "    Default: \"false\"\n    AllowedValues:\n      - \"true\"\n      - \"false\"\n    Description: Keep", "RetainData with Default \"true\""},
		{"mailbox without PITR", "PointInTimeRecoveryEnabled: true", "PointInTimeRecoveryEnabled: false", "MailboxTable: point-in-time recovery is off"},
		{"no language extensions", "  - AWS::LanguageExtensions\n", "", "Transform lacks AWS::LanguageExtensions"},
		{"duration without a pattern", "    AllowedPattern: \"^([0-9]*[1-9][0-9]*(h|m|s))+$\"\n    ConstraintDescription: a duration in whole hours, minutes and seconds, such as 24h or 1h30m", "    ConstraintDescription: a duration in whole hours, minutes and seconds, such as 24h or 1h30m", "MailboxTTL: a duration needs an AllowedPattern"},
		{"pattern lets zero through", "    AllowedPattern: \"^([0-9]*[1-9][0-9]*(h|m|s))+$\"\n    ConstraintDescription: a duration in whole hours, minutes and seconds, such as 2h10m", "    AllowedPattern: \"^([0-9]+(h|m|s))+$\"\n    ConstraintDescription: a duration in whole hours, minutes and seconds, such as 2h10m", "ConnectionTTL=\"0h\" matches its AllowedPattern but"},
		{"pattern lets days through", "    AllowedPattern: \"^([0-9]*[1-9][0-9]*(h|m|s))+$\"\n    ConstraintDescription: a duration in whole hours, minutes and seconds, such as 2h10m", "    AllowedPattern: \"^.+$\"\n    ConstraintDescription: a duration in whole hours, minutes and seconds, such as 2h10m", "ConnectionTTL: AllowedPattern lets 1d through"},
		{"number without a range", "    MinValue: 1\n    MaxValue: 100\n", "    MinValue: 1\n", "MaxConnectionsPerPlayer: a Number needs MinValue and MaxValue"},
		{"range lets a bad value through", "    MaxValue: 32768\n", "    MaxValue: 65536\n", "MaxMessageBytes=65536 is allowed but"},
		{"sender quota over the mailbox cap", "    Default: \"\"\n    AllowedPattern", "    Default: \"101\"\n    AllowedPattern", "MAILBOX_MAX_PER_SENDER (101) must be at most MAILBOX_MAX_MESSAGES (100)"},
		{"message route cannot answer", "      RouteKey: inbox\n      OperationName: Inbox\n      RouteResponseSelectionExpression: $default\n", "      RouteKey: inbox\n      OperationName: Inbox\n", "route inbox needs RouteResponseSelectionExpression"},
		{"route response missing", "      RouteId: !Ref PingRoute\n      RouteResponseKey: $default", "      RouteId: !Ref PingRoute\n      RouteResponseKey: $other", "route ping has no $default route response"},
		{"route missing", "      RouteKey: presence", "      RouteKey: who", "no route presence"},
		{"not a proxy integration", "      IntegrationType: AWS_PROXY\n      IntegrationUri: !Sub arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${DisconnectFunction.Arn}", "      IntegrationType: AWS\n      IntegrationUri: !Sub arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${DisconnectFunction.Arn}", "IntegrationType \"AWS\""},
		{"deployment misses a route", "      - SendMessageRoute\n", "", "DependsOn lacks route SendMessageRoute"},
		{"permission not scoped", "${WebSocketApi}/${StageName}/$disconnect", "*", "is not scoped to WebSocketApi"},
		{"wrong management endpoint", "MANAGEMENT_ENDPOINT: !Sub https://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}", "MANAGEMENT_ENDPOINT: !Sub https://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/prod", "MANAGEMENT_ENDPOINT"},
		{"dynamodb wildcard", "                - dynamodb:Query\n                - dynamodb:DeleteItem\n              Resource: !GetAtt ConnectionsTable.Arn\n            - Sid: Mailbox", "                - dynamodb:*\n              Resource: !GetAtt ConnectionsTable.Arn\n            - Sid: Mailbox", "Action dynamodb:*"},
		{"execute-api wildcard", "                - execute-api:ManageConnections", "                - execute-api:*", "Action execute-api:*"},
		{"resource wildcard", "              Resource: !GetAtt RateLimitTable.Arn\n\n  DisconnectLogGroup", "              Resource: \"*\"\n\n  DisconnectLogGroup", "Resource \"*\""},
		{"resource wildcard in a list", "                - !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/${StageName}/DELETE/@connections/*", "                - '*'", "Resource \"*\""},
		{"managed policy", "      Policies:\n        - Statement:\n            - Sid: ReleaseConnectionSlot", "      Policies:\n        - AmazonDynamoDBFullAccess\n        - Statement:\n            - Sid: ReleaseConnectionSlot", "a policy other than an inline Statement"},
		{"extra action", "                - dynamodb:PutItem\n                - dynamodb:DeleteItem\n              Resource: !GetAtt ConnectionsTable.Arn", "                - dynamodb:PutItem\n                - dynamodb:DeleteItem\n                - dynamodb:UpdateItem\n              Resource: !GetAtt ConnectionsTable.Arn", "ConnectFunction (functions/connect): on ConnectionsTable (CONNECTIONS_TABLE) granted [dynamodb:DeleteItem dynamodb:PutItem dynamodb:Query dynamodb:UpdateItem]"},
		{"missing action", "                - dynamodb:GetItem\n                - dynamodb:UpdateItem\n              Resource: !GetAtt RateLimitTable.Arn\n\n  DisconnectLogGroup", "                - dynamodb:UpdateItem\n              Resource: !GetAtt RateLimitTable.Arn\n\n  DisconnectLogGroup", "granted [dynamodb:UpdateItem], want [dynamodb:GetItem dynamodb:UpdateItem]"},
		{"action never called", "                - dynamodb:Query\n                - dynamodb:DeleteItem\n              Resource: !GetAtt ConnectionsTable.Arn\n\n  MessagesLogGroup", "                - dynamodb:Query\n                - dynamodb:DeleteItem\n                - dynamodb:BatchWriteItem\n              Resource: !GetAtt ConnectionsTable.Arn\n\n  MessagesLogGroup", "the adapters call"},
		{"management API on another stage", "${WebSocketApi}/${StageName}/POST/@connections/*\n", "${WebSocketApi}/*/POST/@connections/*\n", "ManageConnections on"},
		{"TTL on another attribute", "      TimeToLiveSpecification:\n        AttributeName: expiresAt\n        Enabled: true\n      SSESpecification:\n        SSEEnabled: true\n\n  MailboxTable", "      TimeToLiveSpecification:\n        AttributeName: ttl\n        Enabled: true\n      SSESpecification:\n        SSEEnabled: true\n\n  MailboxTable", "ConnectionsTable: TTL is not enabled on expiresAt"},
		{"SSE off", "        SSEEnabled: true\n\n  # --", "        SSEEnabled: false\n\n  # --", "RateLimitTable: SSESpecification.SSEEnabled is not true"},
		{"wrong key type", "        - AttributeName: slot\n          AttributeType: N", "        - AttributeName: slot\n          AttributeType: S", "key schema [playerId S HASH slot S RANGE]"},
		{"client with a secret", "GenerateSecret: false", "GenerateSecret: true", "GenerateSecret must be false"},
		{"no password sign-in", "        - ALLOW_USER_PASSWORD_AUTH\n", "", "lacks ALLOW_USER_PASSWORD_AUTH"},
		{"no admin group", "GroupName: admin", "GroupName: admins", "no UserPoolGroup admin"},
		{"output missing", "  UserPoolClientId:\n", "  GameClientId:\n", "no output UserPoolClientId"},
		{"not a wss URL", "Value: !Sub wss://", "Value: !Sub https://", "does not start with wss://"},
		{"admin route without authorizer", "      RouteKey: GET /admin/bans\n      AuthorizationType: JWT", "      RouteKey: GET /admin/bans\n      AuthorizationType: NONE", "AdminListBansRoute: AuthorizationType NONE, want JWT"},
		{"admin route missing", "RouteKey: DELETE /admin/connections/{connectionId}", "RouteKey: DELETE /admin/connection/{connectionId}", "no route DELETE /admin/connections/{connectionId}"},
		{"admin authorizer of another pool", "        Issuer: !Sub https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${UserPool}", "        Issuer: !Sub https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/eu-west-1_other", "Issuer"},
		{"admin authorizer without audience", "        Audience:\n          - !Ref UserPoolClient\n", "", "Audience"},
		{"admin payload format 1.0", "PayloadFormatVersion: '2.0'", "PayloadFormatVersion: '1.0'", "PayloadFormatVersion"},
		{"admin permission on any API", "${AdminHttpApi}/*/*/admin/*", "*/*/*/admin/*", "AdminPermission"},
		{"cognito actions on every pool", "              Resource: !GetAtt UserPool.Arn", "              Resource: !Sub arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/*", "Cognito"},
		{"extra cognito action", "                - cognito-idp:AdminEnableUser\n", "                - cognito-idp:AdminEnableUser\n                - cognito-idp:AdminDeleteUser\n", "Cognito actions"},
		{"admin may post on another stage", "${WebSocketApi}/${StageName}/POST/@connections/*'", "${WebSocketApi}/*/POST/@connections/*'", "ManageConnections on"},
		{"admin CORS for any origin", "        - AllowOrigins: !Ref AdminAllowedOrigins", "        - AllowOrigins: ['*']", "AllowOrigins"},
		{"admin CORS without the token header", "AllowHeaders: [authorization, content-type]", "AllowHeaders: [content-type]", "AllowHeaders"},
		{"admin output missing", "  AdminApiUrl:\n", "  AdminURL:\n", "no output AdminApiUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := strings.Count(base, tt.old); n != 1 {
				t.Fatalf("%q occurs %d times in template.yaml, want once", tt.old, n)
			}
			src := strings.Replace(base, tt.old, tt.new, 1)
			tp, err := loadTemplate(src, ".")
			if err != nil {
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("read the broken template: %v; want a problem containing %q", err, tt.want)
				}
				return
			}
			probs := runChecks(tp, "..")
			for _, p := range probs {
				if strings.Contains(p, tt.want) {
					t.Log(p)
					return
				}
			}
			t.Errorf("no problem contains %q; found:\n%s", tt.want, strings.Join(probs, "\n"))
		})
	}
}

// TestChecksOnTinyTemplates runs the checks on small hand-written templates,
// with functions of their own on disk.
func TestChecksOnTinyTemplates(t *testing.T) {
	repo := t.TempDir()
	for dir, src := range map[string]string{
		"functions/good/main.go": "package main\n\nfunc main() {}\n",
		"functions/lib/main.go":  "package lib\n",
		"sam/.keep":              "",
		"Makefile":               "build-GoodFunction:\n\tscripts/build-lambdas good $(ARTIFACTS_DIR)\n",
	} {
		path := filepath.Join(repo, filepath.FromSlash(dir))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const function = `Resources:
  %sFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: makefile
    Properties:
      CodeUri: ../
      Handler: bootstrap
      Runtime: %s
      Architectures:
        - arm64
`
	// role is an IAM role whose policy's statements follow.
	const role = `Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyDocument:
            Statement:`
	tests := []struct {
		name  string
		check func(*tmpl, string) []string
		src   string
		want  []string // each in some problem; none expected when empty
	}{
		{"good function", checkFunctions, fmt.Sprintf(function, "Good", "provided.al2023"), nil},
		{"library package", checkFunctions, fmt.Sprintf(function, "Lib", "provided.al2023"), []string{"holds package lib, want package main", "make build-LibFunction does not run scripts/build-lambdas"}},
		{"old runtime", checkFunctions, fmt.Sprintf(function, "Good", "provided.al2"), []string{"Runtime \"provided.al2\""}},
		{"undeployed directory", checkEveryFunctionDeployed, fmt.Sprintf(function, "Good", "provided.al2023"), []string{"functions/lib is no function of the template"}},
		{"clean policy", checkNoWildcards, role + `
              - Effect: Allow
                Action: dynamodb:GetItem
                Resource: !GetAtt T.Arn
`, nil},
		{"wildcards", checkNoWildcards, role + `
              - Effect: Allow
                Action: [dynamodb:*, "execute-api:*", s3:GetObject]
                Resource: '*'
              - Effect: Allow
                NotAction: iam:*
                Resource:
                  - !Sub "*"
`, []string{"Action dynamodb:*", "Action execute-api:*", "Resource \"*\"", "NotAction", "line 14: Resource \"*\""}},
		{"connect without authorizer", checkConnectAuthorizer, `Resources:
  R:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      RouteKey: $connect
      AuthorizationType: NONE
`, []string{"$connect has AuthorizationType NONE", "not !Ref of an AWS::ApiGatewayV2::Authorizer"}},
		{"table without TTL", checkTables, `Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
`, []string{"T: TTL is not enabled on expiresAt", "SSEEnabled is not true", "no function names it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := loadTemplate(tt.src, filepath.Join(repo, "sam"))
			if err != nil {
				t.Fatalf("read template: %v", err)
			}
			probs := tt.check(tp, repo)
			if len(tt.want) == 0 && len(probs) > 0 {
				t.Fatalf("want no problem, found:\n%s", strings.Join(probs, "\n"))
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("no problem contains %q; found:\n%s", w, strings.Join(probs, "\n"))
				}
			}
		})
	}
}
