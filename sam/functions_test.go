package sam

import (
	"fmt"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
	"github.com/serverless-websockets/serverless-websockets/internal/config"
)

// Checks of the functions, their environment and their routes.

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
