package sam

import (
	"fmt"
	"slices"
	"strings"

	"github.com/serverless-websockets/serverless-websockets/internal/admin"
)

// httpAPI reports whether id is an AWS::ApiGatewayV2::Api of ProtocolType HTTP.
func (t *tmpl) httpAPI(id string) bool {
	r := t.resources[id]
	return r.str("Type") == "AWS::ApiGatewayV2::Api" && r.str("Properties", "ProtocolType") == "HTTP"
}

// apis lists the AWS::ApiGatewayV2::Api that are HTTP APIs (http) or not.
func (t *tmpl) apis(http bool) []string {
	var ids []string
	for _, id := range t.ofType("AWS::ApiGatewayV2::Api") {
		if t.httpAPI(id) == http {
			ids = append(ids, id)
		}
	}
	return ids
}

// scopedTo reports whether an invoke permission's SourceArn names api.
func scopedTo(arn, api string) bool {
	return strings.HasPrefix(arn, "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${"+api+"}/")
}

// integration returns the logical id of the integration a route's Target
// names (!Sub integrations/${<Integration>}), or "".
func (t *tmpl) integration(route *node) string {
	target, _ := subString(route.get("Target"))
	integ, ok := strings.CutPrefix(target, "integrations/${")
	integ, ok2 := strings.CutSuffix(integ, "}")
	if !ok || !ok2 || t.resources[integ].str("Type") != "AWS::ApiGatewayV2::Integration" {
		return ""
	}
	return integ
}

// checkAdminAPI: one HTTP API whose routes are exactly internal/admin's,
// each behind a JWT authorizer on this stack's user pool and app client,
// integrated (payload format 2.0) with the function built from
// functions/admin, on an auto-deployed stage, invocable from this API only,
// and named by the AdminApiUrl output.
func checkAdminAPI(t *tmpl, _ string) []string {
	var probs []string
	apis := t.apis(true)
	if len(apis) != 1 {
		return []string{fmt.Sprintf("%d HTTP APIs, want 1 (the admin API)", len(apis))}
	}
	api := apis[0]
	adminFn := ""
	for _, f := range t.functions() {
		if f.name == "admin" {
			adminFn = f.id
		}
	}
	if adminFn == "" {
		probs = append(probs, "no function is built from functions/admin")
	}
	var keys []string
	for _, id := range t.ofType("AWS::ApiGatewayV2::Route") {
		p := t.resources[id].get("Properties")
		if refOf(p.get("ApiId")) != api {
			continue
		}
		keys = append(keys, p.str("RouteKey"))
		if at := p.str("AuthorizationType"); at != "JWT" {
			probs = append(probs, fmt.Sprintf("%s: AuthorizationType %s, want JWT", id, at))
		}
		a := refOf(p.get("AuthorizerId"))
		ap := t.resources[a].get("Properties")
		switch {
		case t.resources[a].str("Type") != "AWS::ApiGatewayV2::Authorizer" || refOf(ap.get("ApiId")) != api:
			probs = append(probs, fmt.Sprintf("%s: AuthorizerId is not !Ref of an authorizer of %s", id, api))
		default:
			if typ := ap.str("AuthorizerType"); typ != "JWT" {
				probs = append(probs, fmt.Sprintf("%s: AuthorizerType %s, want JWT", a, typ))
			}
			if src := ap.strs("IdentitySource"); !slices.Equal(src, []string{"$request.header.Authorization"}) {
				probs = append(probs, fmt.Sprintf("%s: IdentitySource %v, want [$request.header.Authorization]", a, src))
			}
			if iss, _ := subString(ap.get("JwtConfiguration", "Issuer")); iss != "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${UserPool}" {
				probs = append(probs, fmt.Sprintf("%s: JwtConfiguration.Issuer %q, want this stack's UserPool", a, iss))
			}
			aud := ap.get("JwtConfiguration", "Audience")
			if aud == nil || !aud.isSeq || len(aud.list) != 1 || refOf(aud.list[0]) != "UserPoolClient" {
				probs = append(probs, fmt.Sprintf("%s: JwtConfiguration.Audience is not [!Ref UserPoolClient]", a))
			}
		}
		integ := t.integration(p)
		ip := t.resources[integ].get("Properties")
		fn := ip.get("IntegrationUri")
		switch {
		case integ == "":
			probs = append(probs, fmt.Sprintf("%s: Target is not !Sub integrations/${<Integration>}", id))
		case ip.str("IntegrationType") != "AWS_PROXY" || ip.str("PayloadFormatVersion") != "2.0":
			probs = append(probs, fmt.Sprintf("%s: want IntegrationType AWS_PROXY and PayloadFormatVersion 2.0", integ))
		case fn == nil || fn.tag != "!GetAtt" || fn.value != adminFn+".Arn":
			probs = append(probs, fmt.Sprintf("%s: IntegrationUri is not !GetAtt %s.Arn", integ, adminFn))
		}
	}
	// CORS only for the origins the operator lists, never for any origin:
	// the panel of a site on another origin calls the API with a token.
	cors := t.resources[api].get("Properties", "CorsConfiguration")
	switch {
	case cors == nil:
		probs = append(probs, fmt.Sprintf("%s has no CorsConfiguration: a panel on a static site cannot call it", api))
	case cors.tag != "!If" || len(cors.list) != 3 || cors.list[0].value != "AdminCorsEnabled" || refOf(cors.list[2]) != "AWS::NoValue":
		probs = append(probs, fmt.Sprintf("%s: CorsConfiguration is not !If [AdminCorsEnabled, {…}, !Ref AWS::NoValue]", api))
	case refOf(cors.list[1].get("AllowOrigins")) != "AdminAllowedOrigins":
		probs = append(probs, fmt.Sprintf("%s: CORS AllowOrigins is not !Ref AdminAllowedOrigins", api))
	case !slices.Contains(cors.list[1].strs("AllowHeaders"), "authorization"):
		probs = append(probs, fmt.Sprintf("%s: CORS AllowHeaders lacks authorization", api))
	}
	for _, k := range admin.Routes {
		if !slices.Contains(keys, k) {
			probs = append(probs, fmt.Sprintf("no route %s on %s", k, api))
		}
	}
	for _, k := range keys {
		if !slices.Contains(admin.Routes, k) {
			probs = append(probs, fmt.Sprintf("route %s on %s is not served by internal/admin", k, api))
		}
	}
	staged := false
	for _, id := range t.ofType("AWS::ApiGatewayV2::Stage") {
		p := t.resources[id].get("Properties")
		if refOf(p.get("ApiId")) == api && p.str("AutoDeploy") == "true" && p.str("StageName") == "$default" {
			staged = true
		}
	}
	if !staged {
		probs = append(probs, fmt.Sprintf("%s has no auto-deployed $default stage", api))
	}
	permitted := false
	for _, id := range t.ofType("AWS::Lambda::Permission") {
		p := t.resources[id].get("Properties")
		if refOf(p.get("FunctionName")) != adminFn {
			continue
		}
		arn, _ := subString(p.get("SourceArn"))
		if !scopedTo(arn, api) {
			probs = append(probs, fmt.Sprintf("%s: SourceArn %q is not scoped to %s", id, arn, api))
			continue
		}
		permitted = true
	}
	if !permitted {
		probs = append(probs, fmt.Sprintf("%s: API Gateway has no permission to invoke it from %s", adminFn, api))
	}
	want := "https://${" + api + "}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
	if s, _ := subString(t.root.get("Outputs", "AdminApiUrl", "Value")); s != want {
		probs = append(probs, fmt.Sprintf("no output AdminApiUrl = !Sub %s", want))
	}
	slices.Sort(probs)
	return probs
}
