package sam

import (
	"fmt"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
	"github.com/serverless-websockets/serverless-websockets/internal/config"
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

// checkFunctions: provided.al2023 on arm64 with a bootstrap built by the
// Makefile's build-<LogicalId> target from the module root, for a
// functions/<name> that holds a main package.
func checkFunctions(t *tmpl, repo string) []string {
	var probs []string
	if g := t.root.get("Globals", "Function"); g != nil {
		if rt := g.str("Runtime"); rt != "" && rt != "provided.al2023" {
			probs = append(probs, fmt.Sprintf("Globals: Runtime %s, want provided.al2023", rt))
		}
		if a := g.strs("Architectures"); a != nil && !slices.Equal(a, []string{"arm64"}) {
			probs = append(probs, fmt.Sprintf("Globals: Architectures %v, want [arm64]", a))
		}
	}
	fs := t.functions()
	if len(fs) == 0 {
		probs = append(probs, "no AWS::Serverless::Function")
	}
	root, _ := filepath.Abs(repo)
	for _, f := range fs {
		p := f.res.get("Properties")
		if !strings.HasSuffix(f.id, "Function") || f.name == "" {
			probs = append(probs, fmt.Sprintf("%s: a function's logical id must be <Name>Function", f.id))
			continue
		}
		if rt := p.str("Runtime"); rt != "provided.al2023" {
			probs = append(probs, fmt.Sprintf("%s: Runtime %q, want provided.al2023", f.id, rt))
		}
		if a := p.strs("Architectures"); !slices.Equal(a, []string{"arm64"}) {
			probs = append(probs, fmt.Sprintf("%s: Architectures %v, want [arm64]", f.id, a))
		}
		if h := p.str("Handler"); h != "bootstrap" {
			probs = append(probs, fmt.Sprintf("%s: Handler %q, want bootstrap", f.id, h))
		}
		if bm := f.res.str("Metadata", "BuildMethod"); bm != "makefile" {
			probs = append(probs, fmt.Sprintf("%s: Metadata.BuildMethod %q, want makefile", f.id, bm))
		}
		uri := p.str("CodeUri")
		if dir, _ := filepath.Abs(filepath.Join(t.dir, filepath.FromSlash(uri))); uri == "" || dir != root {
			probs = append(probs, fmt.Sprintf("%s: CodeUri %q is not the module root, where the Makefile is", f.id, uri))
		}
		file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repo, "functions", f.name, "main.go"), nil, parser.PackageClauseOnly)
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: %v", f, err))
			continue
		}
		if file.Name.Name != "main" {
			probs = append(probs, fmt.Sprintf("%s: holds package %s, want package main", f, file.Name.Name))
		}
		if out, err := makeDryRun(repo, "build-"+f.id); err != nil || !strings.Contains(out, "scripts/build-lambdas") {
			probs = append(probs, fmt.Sprintf("%s: make build-%s does not run scripts/build-lambdas: %v %s", f, f.id, err, out))
		}
	}
	return probs
}

var dryRuns sync.Map // "repo target" -> dryRun

type dryRun struct {
	out string
	err error
}

// makeDryRun is what make -n prints for target in repo: the commands sam
// build would run, without running them. It is run once per target.
func makeDryRun(repo, target string) (string, error) {
	key := repo + " " + target
	if r, ok := dryRuns.Load(key); ok {
		return r.(dryRun).out, r.(dryRun).err
	}
	out, err := exec.Command("make", "-n", "-C", repo, target, "ARTIFACTS_DIR=/nonexistent").CombinedOutput()
	dryRuns.Store(key, dryRun{string(out), err})
	return string(out), err
}

// checkEveryFunctionDeployed: every functions/<name> of the module is a
// function of the template.
func checkEveryFunctionDeployed(t *tmpl, repo string) []string {
	mains, err := filepath.Glob(filepath.Join(repo, "functions", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		return []string{fmt.Sprintf("no functions/*/main.go under %s (%v)", repo, err)}
	}
	deployed := map[string]bool{}
	for _, f := range t.functions() {
		deployed[f.name] = true
	}
	var probs []string
	for _, m := range mains {
		if name := filepath.Base(filepath.Dir(m)); !deployed[name] {
			probs = append(probs, fmt.Sprintf("functions/%s is no function of the template", name))
		}
	}
	return probs
}

// checkEnvironment: each function sets exactly the variables internal/config
// lists for it (the defaults stated, so that the deployment says what it
// runs with), no reserved AWS_ variable, and the authorizer's settings name
// this pool.
func checkEnvironment(t *tmpl, _ string) []string {
	var probs []string
	for _, f := range t.functions() {
		spec, ok := config.Functions[f.name]
		if !ok {
			probs = append(probs, fmt.Sprintf("%s: internal/config lists no variables for it", f))
			continue
		}
		env := f.env()
		want := spec.Variables()
		for _, v := range want {
			if env.get(v) == nil {
				probs = append(probs, fmt.Sprintf("%s: %s is read by the function but not set", f, v))
			}
		}
		if env != nil {
			for _, k := range env.keys {
				switch {
				case strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "_") || k == "LAMBDA_TASK_ROOT":
					probs = append(probs, fmt.Sprintf("%s: %s is reserved by Lambda", f, k))
				case !slices.Contains(want, k):
					probs = append(probs, fmt.Sprintf("%s: %s is set but the function does not read it", f, k))
				}
			}
		}
		if slices.Contains(want, "JWT_ISSUER") {
			probs = append(probs, checkCognitoIssuer(t, f)...)
		}
	}
	return probs
}

// checkCognitoIssuer: the authorizer trusts this stack's pool and client,
// and takes access tokens.
func checkCognitoIssuer(t *tmpl, f function) []string {
	var probs []string
	env := f.env()
	issuer, _ := subString(env.get("JWT_ISSUER"))
	jwks, _ := subString(env.get("JWKS_URL"))
	pool := ""
	if m := regexp.MustCompile(`^https://cognito-idp\.\$\{AWS::Region\}\.(?:amazonaws\.com|\$\{AWS::URLSuffix\})/\$\{(\w+)\}$`).FindStringSubmatch(issuer); m != nil {
		pool = m[1]
	}
	if t.resources[pool].str("Type") != "AWS::Cognito::UserPool" {
		probs = append(probs, fmt.Sprintf("%s: JWT_ISSUER %q is not https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${<UserPool>}", f, issuer))
	}
	if jwks != issuer+"/.well-known/jwks.json" {
		probs = append(probs, fmt.Sprintf("%s: JWKS_URL %q is not JWT_ISSUER + /.well-known/jwks.json", f, jwks))
	}
	client := refOf(env.get("JWT_AUDIENCE"))
	if c := t.resources[client]; c.str("Type") != "AWS::Cognito::UserPoolClient" || refOf(c.get("Properties", "UserPoolId")) != pool {
		probs = append(probs, fmt.Sprintf("%s: JWT_AUDIENCE is not !Ref of a client of the issuer's pool", f))
	}
	if u := env.str("JWT_TOKEN_USE"); u != authorizer.TokenUseAccess {
		probs = append(probs, fmt.Sprintf("%s: JWT_TOKEN_USE %q, want %s", f, u, authorizer.TokenUseAccess))
	}
	return probs
}

// resolve gives a value for an environment variable as CloudFormation would
// with the parameters' defaults, or the values in params: resources become
// placeholders.
func (t *tmpl) resolve(n *node, params map[string]string) string {
	ref := func(name string) string {
		switch name {
		case "AWS::Region":
			return "us-east-1"
		case "AWS::URLSuffix":
			return "amazonaws.com"
		case "AWS::Partition":
			return "aws"
		case "AWS::AccountId":
			return "123456789012"
		}
		if v, ok := params[name]; ok {
			return v
		}
		if p := t.params[name]; p != nil {
			return p.str("Default")
		}
		return "ref-" + strings.ReplaceAll(name, ".", "-")
	}
	switch {
	case n == nil:
		return ""
	case n.tag == "":
		return n.value
	case n.tag == "!Ref":
		return ref(n.value)
	case n.tag == "!Sub":
		s, _ := subString(n)
		return subVarRE.ReplaceAllStringFunc(s, func(v string) string { return ref(v[2 : len(v)-1]) })
	case n.tag == "!GetAtt":
		return "arn:aws:placeholder:" + n.value
	}
	return ""
}

// checkConfigLoads: with the parameters' defaults (or the values given),
// each function's environment passes the very loader its main calls.
func checkConfigLoads(t *tmpl, _ string) []string {
	return t.configProblems(nil)
}

// configProblems loads each function's configuration with the parameters
// set to their defaults, or to the values in params.
func (t *tmpl) configProblems(params map[string]string) []string {
	var probs []string
	for _, f := range t.functions() {
		spec, ok := config.Functions[f.name]
		if !ok {
			continue // checkEnvironment says so
		}
		vals := map[string]string{}
		if env := f.env(); env != nil {
			for _, k := range env.keys {
				vals[k] = t.resolve(env.m[k], params)
			}
		}
		getenv := func(k string) string { return vals[k] }
		var err error
		if spec.Need != 0 {
			_, err = config.Load(getenv, spec.Need)
		} else {
			_, err = config.LoadAuthorizer(getenv)
		}
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: %v", f, err))
		}
	}
	return probs
}

// checkConnectAuthorizer: $connect, and only it, runs the REQUEST authorizer
// that reads ?token=.
func checkConnectAuthorizer(t *tmpl, _ string) []string {
	var probs []string
	n := 0
	for _, id := range t.ofType("AWS::ApiGatewayV2::Route") {
		p := t.resources[id].get("Properties")
		if p.str("RouteKey") != "$connect" {
			continue
		}
		n++
		if at := p.str("AuthorizationType"); at != "CUSTOM" {
			if at == "" {
				at = "NONE (unset)"
			}
			probs = append(probs, fmt.Sprintf("%s: $connect has AuthorizationType %s, want CUSTOM", id, at))
		}
		a := refOf(p.get("AuthorizerId"))
		ap := t.resources[a].get("Properties")
		if t.resources[a].str("Type") != "AWS::ApiGatewayV2::Authorizer" {
			probs = append(probs, fmt.Sprintf("%s: AuthorizerId is not !Ref of an AWS::ApiGatewayV2::Authorizer", id))
			continue
		}
		if typ := ap.str("AuthorizerType"); typ != "REQUEST" {
			probs = append(probs, fmt.Sprintf("%s: AuthorizerType %s, want REQUEST", a, typ))
		}
		if src := ap.strs("IdentitySource"); !slices.Equal(src, []string{"route.request.querystring.token"}) {
			probs = append(probs, fmt.Sprintf("%s: IdentitySource %v, want [route.request.querystring.token]", a, src))
		}
		if fn := invokedFunction(t, ap.get("AuthorizerUri")); fn == "" {
			probs = append(probs, fmt.Sprintf("%s: AuthorizerUri does not invoke a function of this template", a))
		}
	}
	if n != 1 {
		probs = append(probs, fmt.Sprintf("%d $connect routes, want 1", n))
	}
	return probs
}

var invokeURIRE = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:apigateway:\$\{AWS::Region\}:lambda:path/2015-03-31/functions/\$\{(\w+)\.Arn\}/invocations$`)

// invokedFunction returns the function a Lambda invocation URI names, or "".
func invokedFunction(t *tmpl, uri *node) string {
	s, _ := subString(uri)
	m := invokeURIRE.FindStringSubmatch(s)
	if m == nil || t.resources[m[1]].str("Type") != "AWS::Serverless::Function" {
		return ""
	}
	return m[1]
}

// messageRoutes answer the client, so they need a route response.
var messageRoutes = []string{"$default", "sendmessage", "inbox", "presence", "ping"}

// checkRoutes: the WebSocket API, its routes, their proxy integrations and
// route responses, the deployment, the stage and the invoke permissions.
func checkRoutes(t *tmpl, _ string) []string {
	var probs []string
	apis := t.apis(false)
	if len(apis) != 1 {
		return []string{fmt.Sprintf("%d AWS::ApiGatewayV2::Api other than HTTP APIs, want 1", len(apis))}
	}
	api := apis[0]
	if p := t.resources[api].get("Properties"); p.str("ProtocolType") != "WEBSOCKET" || p.str("RouteSelectionExpression") != "$request.body.action" {
		probs = append(probs, fmt.Sprintf("%s: want ProtocolType WEBSOCKET and RouteSelectionExpression $request.body.action", api))
	}
	routes := map[string]string{} // route key -> logical id
	invoked := map[string]bool{}
	for _, id := range t.ofType("AWS::ApiGatewayV2::Route") {
		p := t.resources[id].get("Properties")
		if t.httpAPI(refOf(p.get("ApiId"))) {
			continue // checkAdminAPI
		}
		key := p.str("RouteKey")
		if other, dup := routes[key]; dup {
			probs = append(probs, fmt.Sprintf("%s and %s: both route %s", other, id, key))
		}
		routes[key] = id
		if refOf(p.get("ApiId")) != api {
			probs = append(probs, fmt.Sprintf("%s: ApiId is not !Ref %s", id, api))
		}
		integ := t.integration(p)
		ip := t.resources[integ].get("Properties")
		if integ == "" {
			probs = append(probs, fmt.Sprintf("%s: Target is not !Sub integrations/${<Integration>}", id))
		} else if ip.str("IntegrationType") != "AWS_PROXY" {
			probs = append(probs, fmt.Sprintf("%s: IntegrationType %q, want AWS_PROXY", integ, ip.str("IntegrationType")))
		} else if fn := invokedFunction(t, ip.get("IntegrationUri")); fn == "" {
			probs = append(probs, fmt.Sprintf("%s: IntegrationUri does not invoke a function of this template", integ))
		} else {
			invoked[fn] = true
		}
		if slices.Contains(messageRoutes, key) && p.str("RouteResponseSelectionExpression") != "$default" {
			probs = append(probs, fmt.Sprintf("%s: route %s needs RouteResponseSelectionExpression $default to answer the client", id, key))
		}
	}
	for _, key := range append([]string{"$connect", "$disconnect"}, messageRoutes...) {
		if routes[key] == "" {
			probs = append(probs, fmt.Sprintf("no route %s", key))
		}
	}
	responses := map[string]string{} // route logical id -> route response logical id
	for _, id := range t.ofType("AWS::ApiGatewayV2::RouteResponse") {
		p := t.resources[id].get("Properties")
		if p.str("RouteResponseKey") == "$default" {
			responses[refOf(p.get("RouteId"))] = id
		}
	}
	for _, key := range messageRoutes {
		if r := routes[key]; r != "" && responses[r] == "" {
			probs = append(probs, fmt.Sprintf("%s: route %s has no $default route response", r, key))
		}
	}

	var stages []string
	for _, id := range t.ofType("AWS::ApiGatewayV2::Stage") {
		if !t.httpAPI(refOf(t.resources[id].get("Properties", "ApiId"))) {
			stages = append(stages, id)
		}
	}
	if len(stages) != 1 {
		probs = append(probs, fmt.Sprintf("%d AWS::ApiGatewayV2::Stage, want 1", len(stages)))
	} else {
		// AutoDeploy: API Gateway deploys again after every change, so a
		// stack update that changes routes takes effect. A Deployment
		// resource would be made once and never replaced.
		sp := t.resources[stages[0]].get("Properties")
		if sp.str("AutoDeploy") != "true" || sp.get("DeploymentId") != nil {
			probs = append(probs, fmt.Sprintf("%s: want AutoDeploy true and no DeploymentId, so that every update takes effect", stages[0]))
		}
		for _, d := range t.ofType("AWS::ApiGatewayV2::Deployment") {
			probs = append(probs, fmt.Sprintf("%s: a Deployment resource is never replaced by an update; the stage deploys itself", d))
		}
		deps := t.resources[stages[0]].strs("DependsOn")
		for _, r := range routes {
			if !slices.Contains(deps, r) {
				probs = append(probs, fmt.Sprintf("%s: DependsOn lacks route %s, so its first deployment may miss it", stages[0], r))
			}
		}
		for _, r := range responses {
			if !slices.Contains(deps, r) {
				probs = append(probs, fmt.Sprintf("%s: DependsOn lacks route response %s, so its first deployment may miss it", stages[0], r))
			}
		}
		if sp.get("DefaultRouteSettings", "ThrottlingRateLimit") == nil || sp.get("DefaultRouteSettings", "ThrottlingBurstLimit") == nil {
			probs = append(probs, fmt.Sprintf("%s: DefaultRouteSettings without throttling", stages[0]))
		}
		stage := refOf(sp.get("StageName"))
		if t.params[stage] == nil {
			probs = append(probs, fmt.Sprintf("%s: StageName is not !Ref of a parameter", stages[0]))
		}
		endpoint := "https://${" + api + "}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${" + stage + "}"
		for _, f := range t.functions() {
			if v := f.env().get("MANAGEMENT_ENDPOINT"); v != nil {
				if s, _ := subString(v); s != endpoint {
					probs = append(probs, fmt.Sprintf("%s: MANAGEMENT_ENDPOINT %q, want !Sub %s", f, s, endpoint))
				}
			}
		}
	}

	for _, id := range t.ofType("AWS::ApiGatewayV2::Authorizer") {
		if fn := invokedFunction(t, t.resources[id].get("Properties", "AuthorizerUri")); fn != "" {
			invoked[fn] = true
		}
	}
	permitted := map[string]bool{}
	for _, id := range t.ofType("AWS::Lambda::Permission") {
		p := t.resources[id].get("Properties")
		fn := refOf(p.get("FunctionName"))
		arn, _ := subString(p.get("SourceArn"))
		if p.str("Principal") != "apigateway.amazonaws.com" || p.str("Action") != "lambda:InvokeFunction" {
			continue
		}
		if slices.ContainsFunc(t.apis(true), func(id string) bool { return scopedTo(arn, id) }) {
			continue // checkAdminAPI
		}
		if !scopedTo(arn, api) {
			probs = append(probs, fmt.Sprintf("%s: SourceArn %q is not scoped to %s", id, arn, api))
			continue
		}
		permitted[fn] = true
	}
	for fn := range invoked {
		if !permitted[fn] {
			probs = append(probs, fmt.Sprintf("%s: API Gateway has no permission to invoke it", fn))
		}
	}
	slices.Sort(probs)
	return probs
}

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
