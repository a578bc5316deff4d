package sam

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
	"github.com/serverless-websockets/serverless-websockets/internal/config"
	"github.com/serverless-websockets/serverless-websockets/ratelimit"
)

// The checks below read template.yaml with the YAML-subset reader of
// yaml_test.go and compare it with the code: each returns the problems it
// finds, so that TestTemplate can report them all and TestChecksCatch can
// prove, on broken copies of the template, that each check can fail.

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

// function is an AWS::Serverless::Function with the directory of its code.
type function struct {
	id   string
	res  *node
	dir  string // CodeUri, resolved against the template's directory
	name string // the directory's base name: authorizer, connect, ...
}

func (f function) String() string { return f.id + " (functions/" + f.name + ")" }

func (f function) env() *node { return f.res.get("Properties", "Environment", "Variables") }

// mainSource is the function's main.go, or "" when it cannot be read
// (checkFunctions reports that).
func (f function) mainSource() string {
	b, err := os.ReadFile(filepath.Join(f.dir, "main.go"))
	if err != nil {
		return ""
	}
	return string(b)
}

func (t *tmpl) functions() []function {
	var fs []function
	for _, id := range t.ofType("AWS::Serverless::Function") {
		r := t.resources[id]
		uri := r.str("Properties", "CodeUri")
		dir := filepath.Join(t.dir, filepath.FromSlash(uri))
		fs = append(fs, function{id: id, res: r, dir: dir, name: filepath.Base(dir)})
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

// subVars lists the ${...} variables of a !Sub string, without ${!literals}.
func subVars(s string) []string {
	var out []string
	for _, m := range subVarRE.FindAllStringSubmatch(s, -1) {
		if !strings.HasPrefix(m[1], "!") {
			out = append(out, m[1])
		}
	}
	return out
}

// ---------------------------------------------------------------- checks

type check struct {
	name string
	fn   func(t *tmpl, repo string) []string
}

var checks = []check{
	{"functions", checkFunctions},
	{"every function deployed", checkEveryFunctionDeployed},
	{"references", checkReferences},
	{"environment", checkEnvironment},
	{"config loads", checkConfigLoads},
	{"connect authorizer", checkConnectAuthorizer},
	{"routes", checkRoutes},
	{"no wildcards", checkNoWildcards},
	{"least privilege", checkLeastPrivilege},
	{"tables", checkTables},
	{"cognito", checkCognito},
	{"parameters and outputs", checkParametersAndOutputs},
	{"admin API", checkAdminAPI},
}

// checkFunctions: provided.al2023 on arm64 with a bootstrap built by SAM's
// Go builder from a directory holding a main package.
func checkFunctions(t *tmpl, _ string) []string {
	var probs []string
	if g := t.root.get("Globals", "Function"); g != nil {
		if rt := g.str("Runtime"); rt != "" && rt != "provided.al2023" {
			probs = append(probs, fmt.Sprintf("Globals: Runtime %s, want provided.al2023", rt))
		}
		if a := g.strs("Architectures"); a != nil && !slices.Equal(a, []string{"arm64"}) {
			probs = append(probs, fmt.Sprintf("Globals: Architectures %v, want [arm64]", a))
		}
	}
	for _, id := range t.ofType("AWS::Lambda::Function") {
		if rt := t.resources[id].str("Properties", "Runtime"); rt != "provided.al2023" {
			probs = append(probs, fmt.Sprintf("%s: Runtime %q, want provided.al2023", id, rt))
		}
		if a := t.resources[id].strs("Properties", "Architectures"); !slices.Equal(a, []string{"arm64"}) {
			probs = append(probs, fmt.Sprintf("%s: Architectures %v, want [arm64]", id, a))
		}
	}
	fs := t.functions()
	if len(fs) == 0 {
		probs = append(probs, "no AWS::Serverless::Function")
	}
	for _, f := range fs {
		p := f.res.get("Properties")
		if rt := p.str("Runtime"); rt != "provided.al2023" {
			probs = append(probs, fmt.Sprintf("%s: Runtime %q, want provided.al2023", f.id, rt))
		}
		if a := p.strs("Architectures"); !slices.Equal(a, []string{"arm64"}) {
			probs = append(probs, fmt.Sprintf("%s: Architectures %v, want [arm64]", f.id, a))
		}
		if h := p.str("Handler"); h != "bootstrap" {
			probs = append(probs, fmt.Sprintf("%s: Handler %q, want bootstrap", f.id, h))
		}
		if bm := f.res.str("Metadata", "BuildMethod"); bm != "go1.x" {
			probs = append(probs, fmt.Sprintf("%s: Metadata.BuildMethod %q, want go1.x", f.id, bm))
		}
		uri := p.str("CodeUri")
		if uri == "" {
			probs = append(probs, fmt.Sprintf("%s: no CodeUri", f.id))
			continue
		}
		if st, err := os.Stat(f.dir); err != nil || !st.IsDir() {
			probs = append(probs, fmt.Sprintf("%s: CodeUri %s is not a directory", f.id, uri))
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(f.dir, "main.go"), nil, parser.PackageClauseOnly)
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: CodeUri %s: %v", f.id, uri, err))
			continue
		}
		if file.Name.Name != "main" {
			probs = append(probs, fmt.Sprintf("%s: CodeUri %s holds package %s, want package main", f.id, uri, file.Name.Name))
		}
	}
	return probs
}

// checkEveryFunctionDeployed: every functions/<name> of the module is some
// function's CodeUri.
func checkEveryFunctionDeployed(t *tmpl, repo string) []string {
	mains, err := filepath.Glob(filepath.Join(repo, "functions", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		return []string{fmt.Sprintf("no functions/*/main.go under %s (%v)", repo, err)}
	}
	deployed := map[string]bool{}
	for _, f := range t.functions() {
		if abs, err := filepath.Abs(f.dir); err == nil {
			deployed[abs] = true
		}
	}
	var probs []string
	for _, m := range mains {
		dir, _ := filepath.Abs(filepath.Dir(m))
		if !deployed[dir] {
			probs = append(probs, fmt.Sprintf("functions/%s is no function's CodeUri", filepath.Base(dir)))
		}
	}
	return probs
}

// checkReferences: every !Ref, !GetAtt, ${} of !Sub, DependsOn and
// Condition names something the template defines.
func checkReferences(t *tmpl, _ string) []string {
	var probs []string
	defined := func(name string) bool {
		return strings.HasPrefix(name, "AWS::") || t.resources[name] != nil || t.params[name] != nil
	}
	t.root.walk("", func(key string, n *node) {
		if key == "Ref" || strings.HasPrefix(key, "Fn::") {
			probs = append(probs, fmt.Sprintf("line %d: long form %s; use the short form", n.line, key))
		}
		switch n.tag {
		case "":
		case "!Ref":
			if !defined(n.value) {
				probs = append(probs, fmt.Sprintf("line %d: !Ref %s: no such resource or parameter", n.line, n.value))
			}
		case "!GetAtt":
			res, attr, ok := strings.Cut(n.value, ".")
			if !ok || attr == "" || t.resources[res] == nil {
				probs = append(probs, fmt.Sprintf("line %d: !GetAtt %s: no such resource attribute", n.line, n.value))
			}
		case "!Sub":
			s, locals := subString(n)
			for _, v := range subVars(s) {
				name, attr, hasAttr := strings.Cut(v, ".")
				switch {
				case locals[name]:
				case !defined(name):
					probs = append(probs, fmt.Sprintf("line %d: !Sub ${%s}: no such resource or parameter", n.line, v))
				case hasAttr && (attr == "" || t.resources[name] == nil):
					probs = append(probs, fmt.Sprintf("line %d: !Sub ${%s}: not a resource attribute", n.line, v))
				}
			}
		case "!If":
			if !n.isSeq || len(n.list) != 3 || t.conditions[n.list[0].value] == nil {
				probs = append(probs, fmt.Sprintf("line %d: !If needs [condition, then, else] with a defined condition", n.line))
			}
		case "!Condition":
			if t.conditions[n.value] == nil {
				probs = append(probs, fmt.Sprintf("line %d: !Condition %s: no such condition", n.line, n.value))
			}
		case "!Equals", "!Not", "!And", "!Or", "!Select", "!Join", "!Split", "!FindInMap", "!ImportValue", "!GetAZs", "!Base64", "!Cidr":
		default:
			probs = append(probs, fmt.Sprintf("line %d: unknown tag %s", n.line, n.tag))
		}
	})
	ids := make([]string, 0, len(t.resources))
	for id := range t.resources {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		r := t.resources[id]
		if r.str("Type") == "" {
			probs = append(probs, fmt.Sprintf("%s: no Type", id))
		}
		for _, d := range r.strs("DependsOn") {
			if t.resources[d] == nil || d == id {
				probs = append(probs, fmt.Sprintf("%s: DependsOn %s: no such other resource", id, d))
			}
		}
		if c := r.str("Condition"); c != "" && t.conditions[c] == nil {
			probs = append(probs, fmt.Sprintf("%s: Condition %s: no such condition", id, c))
		}
	}
	return probs
}

// authorizerVars are the variables the template sets for authorizer.ConfigFromEnv
// (JWT_TOKEN_USE and PLAYER_ID_CLAIM have defaults, but the deployment
// states them).
var authorizerVars = []string{"JWT_ISSUER", "JWT_AUDIENCE", "JWKS_URL", "JWT_TOKEN_USE", "PLAYER_ID_CLAIM"}

var rateLimitVars = []string{ratelimit.EnvMessagesPerSecond, ratelimit.EnvMessagesBurst, ratelimit.EnvBytesPerSecond, ratelimit.EnvBytesBurst, ratelimit.EnvConnectsPerMinute}

var (
	needFlagRE = regexp.MustCompile(`config\.(Need[A-Za-z]+)`)
	needDeclRE = regexp.MustCompile(`(?m)^\s*(Need[A-Za-z]+)\b[^/\n]*//\s*([A-Z][A-Z0-9_]*)\s*$`)
)

// needVariables reads from internal/config the variable behind each Need
// flag, as its const block documents it.
func needVariables(repo string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(repo, "internal", "config", "config.go"))
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, m := range needDeclRE.FindAllStringSubmatch(string(b), -1) {
		vars[m[1]] = m[2]
	}
	if len(vars) == 0 {
		return nil, fmt.Errorf("internal/config/config.go documents no Need flag")
	}
	return vars, nil
}

// requiredVars lists the variables a function's main reads, from its source.
func requiredVars(src string, needVars map[string]string) (vars, unknown []string) {
	add := func(vs ...string) {
		for _, v := range vs {
			if !slices.Contains(vars, v) {
				vars = append(vars, v)
			}
		}
	}
	for _, m := range needFlagRE.FindAllStringSubmatch(src, -1) {
		if v, ok := needVars[m[1]]; ok {
			add(v)
		} else if !slices.Contains(unknown, m[1]) {
			unknown = append(unknown, m[1])
		}
	}
	if strings.Contains(src, "config.Load(") || strings.Contains(src, `"LOG_LEVEL"`) {
		add("LOG_LEVEL")
	}
	if strings.Contains(src, "authorizer.ConfigFromEnv(") {
		add(authorizerVars...)
	}
	// config.Load reads the RATE_* variables for the table of NeedRateLimitTable.
	if strings.Contains(src, "ratelimit.ConfigFromEnv(") || strings.Contains(src, "NeedRateLimitTable") {
		add(rateLimitVars...)
	}
	return vars, unknown
}

// checkEnvironment: each function sets every variable its main reads, no
// reserved AWS_ variable, and the authorizer's settings name this pool.
func checkEnvironment(t *tmpl, repo string) []string {
	needVars, err := needVariables(repo)
	if err != nil {
		return []string{err.Error()}
	}
	var probs []string
	for _, f := range t.functions() {
		src := f.mainSource()
		if src == "" {
			probs = append(probs, fmt.Sprintf("%s: cannot read main.go", f))
			continue
		}
		env := f.env()
		want, unknown := requiredVars(src, needVars)
		for _, u := range unknown {
			probs = append(probs, fmt.Sprintf("%s: main.go uses config.%s, which internal/config does not document with its variable", f, u))
		}
		for _, v := range want {
			if env.get(v) == nil {
				probs = append(probs, fmt.Sprintf("%s: %s is read by main.go but not set", f, v))
			}
		}
		if env != nil {
			for _, k := range env.keys {
				if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "_") || k == "LAMBDA_TASK_ROOT" {
					probs = append(probs, fmt.Sprintf("%s: %s is reserved by Lambda", f, k))
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
// with the parameters' defaults: resources become placeholders.
func (t *tmpl) resolve(n *node) string {
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

// checkConfigLoads: with the parameters' defaults, each function's
// environment passes the very loaders its main calls.
func checkConfigLoads(t *tmpl, _ string) []string {
	needs := map[string]config.Need{
		"NeedConnectionsTable": config.NeedConnectionsTable,
		"NeedMailboxTable":     config.NeedMailboxTable,
		"NeedRateLimitTable":   config.NeedRateLimitTable,
		"NeedManagementAPI":    config.NeedManagementAPI,
	}
	var probs []string
	for _, f := range t.functions() {
		src := f.mainSource()
		vals := map[string]string{}
		if env := f.env(); env != nil {
			for _, k := range env.keys {
				vals[k] = t.resolve(env.m[k])
			}
		}
		getenv := func(k string) string { return vals[k] }
		var need config.Need
		for _, m := range needFlagRE.FindAllStringSubmatch(src, -1) {
			need |= needs[m[1]]
		}
		table := ""
		if strings.Contains(src, "config.Load(") {
			cfg, err := config.Load(getenv, need)
			if err != nil {
				probs = append(probs, fmt.Sprintf("%s: %v", f, err))
			}
			table = cfg.RateLimitTable
		}
		if strings.Contains(src, "ratelimit.ConfigFromEnv(") {
			if _, err := ratelimit.ConfigFromEnv(getenv, table); err != nil {
				probs = append(probs, fmt.Sprintf("%s: %v", f, err))
			}
		}
		if strings.Contains(src, "authorizer.ConfigFromEnv(") {
			if _, err := authorizer.ConfigFromEnv(getenv); err != nil {
				probs = append(probs, fmt.Sprintf("%s: %v", f, err))
			}
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
	apis := t.webSocketAPIs()
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
		target, _ := subString(p.get("Target"))
		integ, ok := strings.CutPrefix(target, "integrations/${")
		integ, ok2 := strings.CutSuffix(integ, "}")
		ip := t.resources[integ].get("Properties")
		if !ok || !ok2 || t.resources[integ].str("Type") != "AWS::ApiGatewayV2::Integration" {
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
		sp := t.resources[stages[0]].get("Properties")
		deployment := refOf(sp.get("DeploymentId"))
		switch {
		case deployment != "":
			deps := t.resources[deployment].strs("DependsOn")
			for _, r := range routes {
				if !slices.Contains(deps, r) {
					probs = append(probs, fmt.Sprintf("%s: DependsOn lacks route %s", deployment, r))
				}
			}
			for _, r := range responses {
				if !slices.Contains(deps, r) {
					probs = append(probs, fmt.Sprintf("%s: DependsOn lacks route response %s", deployment, r))
				}
			}
		case sp.str("AutoDeploy") != "true":
			probs = append(probs, fmt.Sprintf("%s: neither a DeploymentId nor AutoDeploy", stages[0]))
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
		if t.httpAPIPermission(arn) {
			continue // checkAdminAPI
		}
		if !strings.HasPrefix(arn, "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${"+api+"}/") {
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
			items := []*node{n}
			if n.isSeq {
				items = n.list
			}
			for _, it := range items {
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
		manage:  []string{"DELETE", "GET", "POST"}, // Exists, the kicked/banned frame, the close
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
	sdkCallRE   = regexp.MustCompile(`\bapi\.([A-Z][A-Za-z]+)\(`)
	sdkDeclRE   = regexp.MustCompile(`(?m)^\s+([A-Z][A-Za-z]+)\(ctx context\.Context, in \*dynamodb\.`)
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
			a := "dynamodb:" + m[1]
			if declared[m[1]] && m[1] != "CreateTable" && m[1] != "DescribeTable" && !slices.Contains(calls, a) {
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
				for _, st := range doc.get("Statement").listOrNil() {
					if st.str("Effect") != "Allow" {
						continue
					}
					var res []*node
					if r := st.get("Resource"); r != nil && r.isSeq {
						res = r.list
					} else if r != nil {
						res = []*node{r}
					}
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

// listOrNil returns a sequence's items, or nil.
func (n *node) listOrNil() []*node {
	if n == nil || !n.isSeq {
		return nil
	}
	return n.list
}

// tableKeys are the key schemas of internal/dynamo (package comment) and
// ratelimit (CreateTable), by the variable that names the table.
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
		for _, a := range p.get("AttributeDefinitions").listOrNil() {
			types[a.str("AttributeName")] = a.str("AttributeType")
		}
		var keys []string
		for _, k := range p.get("KeySchema").listOrNil() {
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

// checkParametersAndOutputs: every parameter has a default and is used; the
// outputs a client and an operator need are there.
func checkParametersAndOutputs(t *tmpl, _ string) []string {
	var probs []string
	used := map[string]bool{}
	t.root.walk("", func(_ string, n *node) {
		switch n.tag {
		case "!Ref":
			used[n.value] = true
		case "!Sub":
			s, _ := subString(n)
			for _, v := range subVars(s) {
				used[v] = true
			}
		}
	})
	for name, p := range t.params {
		if p.get("Default") == nil {
			probs = append(probs, fmt.Sprintf("parameter %s has no Default", name))
		}
		if !used[name] {
			probs = append(probs, fmt.Sprintf("parameter %s is never used", name))
		}
	}
	out := t.root.get("Outputs")
	for _, name := range []string{"WebSocketURL", "ManagementEndpoint", "UserPoolId", "UserPoolClientId", "ConnectionsTableName", "MailboxTableName", "RateLimitTableName"} {
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
	slices.Sort(probs)
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
	if tf := tp.root.str("Transform"); tf != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform %q, want AWS::Serverless-2016-10-31", tf)
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
		{"undefined !Ref", "JWT_AUDIENCE: !Ref UserPoolClient", "JWT_AUDIENCE: !Ref GameClient", "!Ref GameClient: no such resource"},
		{"undefined ${} in !Sub", "functions/${ConnectFunction.Arn}/", "functions/${ConnectFn.Arn}/", "${ConnectFn.Arn}: no such resource"},
		{"attribute of a parameter", "${WebSocketApi}/${StageName}/*", "${WebSocketApi}/${StageName.Arn}/*", "${StageName.Arn}: not a resource attribute"},
		{"undefined !GetAtt", "DestinationArn: !GetAtt AccessLogGroup.Arn", "DestinationArn: !GetAtt AccessLogs.Arn", "!GetAtt AccessLogs.Arn"},
		{"undefined DependsOn", "      - PingRouteResponse\n", "      - PongRouteResponse\n", "DependsOn PongRouteResponse"},
		{"undefined condition", "    Condition: AccessLogsEnabled\n", "    Condition: LogsOn\n", "Condition LogsOn"},
		{"long form", "ApiId: !Ref WebSocketApi\n      Name: cognito-token", "ApiId:\n        Ref: WebSocketApi\n      Name: cognito-token", "long form Ref"},
		{"$connect without authorization", "AuthorizationType: CUSTOM", "AuthorizationType: NONE", "$connect has AuthorizationType NONE"},
		{"$connect authorization unset", "      AuthorizationType: CUSTOM\n", "", "NONE (unset)"},
		{"token authorizer", "AuthorizerType: REQUEST", "AuthorizerType: TOKEN", "AuthorizerType TOKEN"},
		{"token from a header", "route.request.querystring.token", "route.request.header.Authorization", "IdentitySource"},
		{"deprecated runtime", "CodeUri: ../functions/connect/\n      Handler: bootstrap\n      Runtime: provided.al2023", "CodeUri: ../functions/connect/\n      Handler: bootstrap\n      Runtime: go1.x", "ConnectFunction: Runtime \"go1.x\""},
		{"x86", "MemorySize: 128\n", "MemorySize: 128\n      Architectures:\n        - x86_64\n", "duplicate key Architectures"},
		{"wrong architecture", "CodeUri: ../functions/disconnect/\n      Handler: bootstrap\n      Runtime: provided.al2023\n      Architectures:\n        - arm64", "CodeUri: ../functions/disconnect/\n      Handler: bootstrap\n      Runtime: provided.al2023\n      Architectures:\n        - x86_64", "DisconnectFunction: Architectures [x86_64]"},
		{"CodeUri missing", "CodeUri: ../functions/messages/", "CodeUri: ../functions/message/", "CodeUri ../functions/message/ is not a directory"},
		{"CodeUri without main.go", "CodeUri: ../functions/messages/", "CodeUri: ../internal/config/", "main.go"},
		{"function not deployed", "CodeUri: ../functions/disconnect/", "CodeUri: ../functions/connect/", "functions/disconnect is no function's CodeUri"},
		{"variable missing", "          MAILBOX_TABLE: !Ref MailboxTable\n", "", "MAILBOX_TABLE is read by main.go but not set"},
		{"reserved variable", "          LOG_LEVEL: !Ref LogLevel\n      Policies:\n        - Statement:\n            - Sid: ReleaseConnectionSlot", "          LOG_LEVEL: !Ref LogLevel\n          AWS_REGION: eu-west-1\n      Policies:\n        - Statement:\n            - Sid: ReleaseConnectionSlot", "AWS_REGION is reserved"},
		{"ID tokens", "JWT_TOKEN_USE: access", "JWT_TOKEN_USE: id", "JWT_TOKEN_USE \"id\""},
		{"JWKS of another issuer", "${UserPool}/.well-known/jwks.json", "${UserPool}/jwks.json", "JWKS_URL"},
		{"message size over the frame limit", "    Default: 8192\n", "    Default: 65536\n", "MAX_MESSAGE_BYTES must be at most 32768"},
		{"bad duration", "    Default: 24h\n", "    Default: a day\n", "MAILBOX_TTL"},
		{"negative burst", "    Default: 20\n    MinValue: 0\n", "    Default: -1\n    MinValue: 0\n", "RATE_MESSAGES_BURST"},
		{"sender quota over the mailbox cap", "    Default: \"\"\n    AllowedPattern", "    Default: \"101\"\n    AllowedPattern", "MAILBOX_MAX_PER_SENDER (101) must be at most MAILBOX_MAX_MESSAGES (100)"},
		{"sender quota not passed", "          MAILBOX_MAX_PER_SENDER: !Ref MailboxMaxPerSender\n", "", "parameter MailboxMaxPerSender is never used"},
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
		{"TTL off", "      TimeToLiveSpecification:\n        AttributeName: expiresAt\n        Enabled: true\n      SSESpecification:\n        SSEEnabled: true\n\n  RateLimitTable", "      TimeToLiveSpecification:\n        AttributeName: expiresAt\n        Enabled: false\n      SSESpecification:\n        SSEEnabled: true\n\n  RateLimitTable", "MailboxTable: TTL is not enabled on expiresAt"},
		{"TTL on another attribute", "      TimeToLiveSpecification:\n        AttributeName: expiresAt\n        Enabled: true\n      SSESpecification:\n        SSEEnabled: true\n\n  MailboxTable", "      TimeToLiveSpecification:\n        AttributeName: ttl\n        Enabled: true\n      SSESpecification:\n        SSEEnabled: true\n\n  MailboxTable", "ConnectionsTable: TTL is not enabled on expiresAt"},
		{"SSE off", "        SSEEnabled: true\n\n  # --", "        SSEEnabled: false\n\n  # --", "RateLimitTable: SSESpecification.SSEEnabled is not true"},
		{"wrong key type", "        - AttributeName: slot\n          AttributeType: N", "        - AttributeName: slot\n          AttributeType: S", "key schema [playerId S HASH slot S RANGE]"},
		{"provisioned table", "  MailboxTable:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      BillingMode: PAY_PER_REQUEST", "  MailboxTable:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      BillingMode: PROVISIONED", "MailboxTable: BillingMode \"PROVISIONED\""},
		{"client with a secret", "GenerateSecret: false", "GenerateSecret: true", "GenerateSecret must be false"},
		{"no password sign-in", "        - ALLOW_USER_PASSWORD_AUTH\n", "", "lacks ALLOW_USER_PASSWORD_AUTH"},
		{"no admin group", "GroupName: admin", "GroupName: admins", "no UserPoolGroup admin"},
		{"unused parameter", "ThrottlingRateLimit: !Ref ThrottlingRateLimit", "ThrottlingRateLimit: 100", "parameter ThrottlingRateLimit is never used"},
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
		{"admin output missing", "  AdminApiUrl:\n", "  AdminURL:\n", "no output AdminApiUrl"},
		{"outside the YAML subset", "      ProtocolType: WEBSOCKET\n", "      ProtocolType: {Value: WEBSOCKET}\n", "outside the YAML subset"},
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
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: go1.x
    Properties:
      CodeUri: ../functions/%s/
      Handler: bootstrap
      Runtime: %s
      Architectures:
        - arm64
`
	tests := []struct {
		name  string
		check func(*tmpl, string) []string
		src   string
		want  []string // each in some problem; none expected when empty
	}{
		{"good function", checkFunctions, fmt.Sprintf(function, "good", "provided.al2023"), nil},
		{"library package", checkFunctions, fmt.Sprintf(function, "lib", "provided.al2023"), []string{"holds package lib, want package main"}},
		{"old runtime", checkFunctions, fmt.Sprintf(function, "good", "provided.al2"), []string{"Runtime \"provided.al2\""}},
		{"undeployed directory", checkEveryFunctionDeployed, fmt.Sprintf(function, "good", "provided.al2023"), []string{"functions/lib is no function's CodeUri"}},
		{"clean policy", checkNoWildcards, `Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyDocument:
            Statement:
              - Effect: Allow
                Action: dynamodb:GetItem
                Resource: !GetAtt T.Arn
`, nil},
		{"wildcards", checkNoWildcards, `Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [dynamodb:*, "execute-api:*", s3:GetObject]
                Resource: '*'
              - Effect: Allow
                NotAction: iam:*
                Resource:
                  - !Sub "*"
`, []string{"Action dynamodb:*", "Action execute-api:*", "Resource \"*\"", "NotAction", "line 14: Resource \"*\""}},
		{"references", checkReferences, `Parameters:
  P:
    Type: String
Resources:
  A:
    Type: T
    DependsOn: [B, Ghost]
    Properties:
      X: !Ref P
      Y: !Sub ${B.Arn}-${AWS::Region}-${!Literal}-${Local}
      Z: !Sub
        - ${Local}-${Nope}
        - Local: x
      W: !GetAtt P.Arn
  B:
    Type: T
`, []string{"DependsOn Ghost", "${Local}: no such", "${Nope}: no such", "!GetAtt P.Arn"}},
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
