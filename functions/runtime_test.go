// Package functions_test runs every Lambda function as Lambda runs it: the
// bootstrap built by the Makefile's build-<Name>Function target (the target
// sam build runs), for the host's architecture, under the AWS Lambda Runtime
// Interface Emulator (aws-lambda-rie), driven with real API Gateway event
// JSON (testdata/) against a DynamoDB engine the test starts (minidyn's
// HTTP server, through the SDK's wire protocol) and a token issuer with its
// JWKS.
//
// Outside CI a missing emulator skips these tests with the reason; with
// CI=true they fail instead. scripts/test installs the pinned emulator and
// sets AWS_LAMBDA_RIE.
package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	miniserver "github.com/truora/minidyn/server"

	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/local/devissuer"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/dynamotest"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/poll"
	"github.com/serverless-websockets/serverless-websockets/ratelimit"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/testenv"
)

// rieVersion is the emulator scripts/test and .ci/run install.
const rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"

// rie finds the emulator: AWS_LAMBDA_RIE, then PATH, then .cache/bin.
func rie(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("AWS_LAMBDA_RIE"); p != "" {
		return p
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	if p, err := filepath.Abs(filepath.Join("..", ".cache", "bin", "aws-lambda-rie")); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	const why = "aws-lambda-rie not found (AWS_LAMBDA_RIE, PATH, .cache/bin): scripts/test installs it, or " +
		"GOBIN=$PWD/.cache/bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@" + rieVersion
	testenv.Missing(tb, why)
	return ""
}

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{} // function name -> bootstrap
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// bootstrap builds functions/<name> with make build-<Name>Function for the
// host's architecture, once per test binary.
func bootstrap(tb testing.TB, name string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		tb.Skipf("Lambda runs amd64 and arm64 only, not %s", runtime.GOARCH)
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "lambda-bootstraps-")
		if err != nil {
			tb.Fatal(err)
		}
		buildDir = d
	}
	out := filepath.Join(buildDir, name)
	target := "build-" + strings.ToUpper(name[:1]) + name[1:] + "Function"
	cmd := exec.Command("make", "-C", "..", target, "ARTIFACTS_DIR="+out)
	cmd.Env = append(os.Environ(), "LAMBDA_GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("make %s: %v\n%s", target, err, b)
	}
	p := filepath.Join(out, "bootstrap")
	built[name] = p
	return p
}

// emulator is one aws-lambda-rie process running one function.
type emulator struct {
	url     string
	started time.Time
	logFile string // the emulator's and the function's output
	stop    func() // kills the emulator and its bootstrap; safe to call twice
	// answered is set after the first response.
	answered bool
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs the function's bootstrap under the emulator with env (and the
// variables Lambda itself sets: region and credentials), and stops it when
// the test ends. The emulator starts the bootstrap on the first invocation.
func start(tb testing.TB, name string, env map[string]string) *emulator {
	tb.Helper()
	bin, boot := rie(tb), bootstrap(tb, name)
	addr, apiAddr := freeAddr(tb), freeAddr(tb)
	cmd := exec.Command(bin, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, boot)
	cmd.Env = []string{
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_SESSION_TOKEN=local",
		"AWS_EC2_METADATA_DISABLED=true", "HOME=" + tb.TempDir(),
		"AWS_LAMBDA_FUNCTION_NAME=" + name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	e := &emulator{url: "http://" + addr + "/2015-03-31/functions/function/invocations", logFile: filepath.Join(tb.TempDir(), name+".log")}
	out, err := os.Create(e.logFile)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close() // the child holds its own copy
	cmd.Stdout, cmd.Stderr = out, out
	e.started = time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", bin, err)
	}
	e.stop = sync.OnceFunc(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	tb.Cleanup(func() {
		e.stop()
		if tb.Failed() {
			tb.Logf("%s under aws-lambda-rie logged:\n%s", name, e.logs())
		}
	})
	return e
}

// logs is what the emulator and the function have written so far.
func (e *emulator) logs() string {
	b, _ := os.ReadFile(e.logFile)
	return string(b)
}

// invoke sends one event and returns the function's response payload. The
// emulator takes one invocation at a time; until it listens, connecting is
// retried for up to 10 s.
func (e *emulator) invoke(tb testing.TB, event any) []byte {
	tb.Helper()
	status, out := e.post(tb, event)
	if status != http.StatusOK {
		tb.Fatalf("invoke: status %d: %s", status, out)
	}
	return out
}

// post sends one event and returns the emulator's status and body.
func (e *emulator) post(tb testing.TB, event any) (int, []byte) {
	tb.Helper()
	body, err := json.Marshal(event)
	if err != nil {
		tb.Fatal(err)
	}
	// The emulator's port may not be open yet: retry until it answers.
	var (
		resp    *http.Response
		lastErr error
	)
	if !poll.Within(10*time.Second, func() bool {
		resp, lastErr = http.Post(e.url, "application/json", bytes.NewReader(body))
		return lastErr == nil
	}) {
		tb.Fatalf("invoke: the emulator never answered: %v", lastErr)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("invoke: read the response: %v", err)
	}
	return resp.StatusCode, out
}

// event reads a testdata event as a generic JSON object to adjust.
func event(tb testing.TB, file string) map[string]any {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	mustUnmarshal(tb, b, &m)
	return m
}

// issuer serves a development issuer's JWKS on a loopback server.
func issuer(tb testing.TB) (*devissuer.Issuer, string) {
	tb.Helper()
	var h http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	tb.Cleanup(srv.Close)
	iss, err := devissuer.New(devissuer.Config{Issuer: srv.URL})
	if err != nil {
		tb.Fatal(err)
	}
	h = iss.Handler()
	return iss, srv.URL
}

func authorizerEnv(url string) map[string]string {
	return map[string]string{
		"JWT_ISSUER": url, "JWKS_URL": url + devissuer.JWKSPath, "JWT_AUDIENCE": devissuer.DefaultClientID,
		"JWT_TOKEN_USE": "access", "PLAYER_ID_CLAIM": "sub", "LOG_LEVEL": "info",
	}
}

func authorizerEvent(tb testing.TB, token string) map[string]any {
	ev := event(tb, "apigw-custom-auth-request-type-request.json")
	ev["methodArn"] = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/$connect"
	ev["queryStringParameters"] = map[string]any{}
	if token != "" {
		ev["queryStringParameters"] = map[string]any{"token": token}
	}
	return ev
}

// authorizerResponse is the authorizer's answer, or the emulator's error.
type authorizerResponse struct {
	events.APIGatewayCustomAuthorizerResponse
	ErrorMessage string `json:"errorMessage"`
}

func TestAuthorizerUnderTheEmulator(t *testing.T) {
	iss, url := issuer(t)
	e := start(t, "authorizer", authorizerEnv(url))
	good, _, err := iss.Issue(devissuer.TokenRequest{PlayerID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := issuer(t)
	forged, _, err := other.Issue(devissuer.TokenRequest{PlayerID: "alice"}) // signed by a key the JWKS does not hold
	if err != nil {
		t.Fatal(err)
	}

	var r authorizerResponse
	mustUnmarshal(t, e.invoke(t, authorizerEvent(t, good)), &r)
	t.Logf("authorizer: process start → first response %v", time.Since(e.started).Round(time.Millisecond))
	if len(r.PolicyDocument.Statement) != 1 || r.PolicyDocument.Statement[0].Effect != "Allow" || r.Context["playerId"] != "alice" {
		t.Errorf("good token: %+v, want Allow for alice", r)
	}
	for name, tok := range map[string]string{"forged": forged, "garbage": "not.a.token"} {
		r = authorizerResponse{}
		mustUnmarshal(t, e.invoke(t, authorizerEvent(t, tok)), &r)
		if len(r.PolicyDocument.Statement) != 1 || r.PolicyDocument.Statement[0].Effect != "Deny" || r.Context["playerId"] != nil {
			t.Errorf("%s token: %+v, want Deny without a player", name, r)
		}
	}
	r = authorizerResponse{}
	mustUnmarshal(t, e.invoke(t, authorizerEvent(t, "")), &r)
	if r.ErrorMessage != "Unauthorized" || len(r.PolicyDocument.Statement) != 0 {
		t.Errorf("no token: %+v, want the error Unauthorized (API Gateway's 401)", r)
	}
	if !strings.Contains(e.logs(), `"msg":"connect unauthorized"`) || !strings.Contains(e.logs(), `"awsRequestId":`) {
		t.Errorf("the authorizer's log lines do not carry the Lambda request id:\n%s", e.logs())
	}
}

// engine starts minidyn's HTTP server with the stack's tables; it returns a
// client of it, the tables, and the environment of a function that uses them.
func engine(tb testing.TB) (*dynamodb.Client, dynamo.Tables, map[string]string) {
	tb.Helper()
	srv := httptest.NewServer(miniserver.NewServer())
	tb.Cleanup(srv.Close)
	client := dynamotest.NewClient(srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tables := dynamo.Tables{Connections: "connections", Mailbox: "mailbox", Bans: "bans"}
	const rateTable = "rate-limits"
	if err := dynamo.CreateTables(ctx, client, tables); err != nil {
		tb.Fatal(err)
	}
	if err := dynamo.EnsureTable(ctx, client, ratelimit.TableInput(rateTable)); err != nil {
		tb.Fatal(err)
	}
	return client, tables, map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": srv.URL,
		"CONNECTIONS_TABLE":         tables.Connections, "MAILBOX_TABLE": tables.Mailbox, "RATE_LIMIT_TABLE": rateTable,
		"BANS_TABLE":          tables.Bans,
		"MANAGEMENT_ENDPOINT": "http://127.0.0.1:9/prod", // never called: the recipient is offline
		"LOG_LEVEL":           "info",
	}
}

// wsEvent is the testdata WebSocket event for route ($connect, $disconnect
// or a message route) with body, bound to alice's connection as the
// authorizer would bind it.
func wsEvent(tb testing.TB, route, body string) map[string]any {
	file, eventType := "apigw-websocket-request-send-message.json", "MESSAGE"
	switch route {
	case "$connect":
		file, eventType = "apigw-websocket-request.json", "CONNECT"
	case "$disconnect":
		file, eventType = "apigw-websocket-request-disconnect.json", "DISCONNECT"
	}
	ev := event(tb, file)
	rc := ev["requestContext"].(map[string]any)
	now := time.Now()
	rc["routeKey"], rc["eventType"], rc["connectionId"] = route, eventType, "TWegAcC4EowCHnA="
	rc["connectedAt"], rc["requestTimeEpoch"] = now.UnixMilli(), now.UnixMilli()
	rc["authorizer"] = map[string]any{
		"principalId": "alice", "playerId": "alice", "playerName": "alice", "groups": "",
		"tokenExpiresAt": time.Now().Add(time.Hour).Unix(),
	}
	if body == "" {
		delete(ev, "body")
	} else {
		ev["body"] = body
	}
	return ev
}

// respond invokes e with ev and decodes the proxy response; the first call
// on an emulator logs its cold start.
func (e *emulator) respond(t *testing.T, name string, ev any) events.APIGatewayProxyResponse {
	t.Helper()
	var r events.APIGatewayProxyResponse
	mustUnmarshal(t, e.invoke(t, ev), &r)
	if !e.answered {
		e.answered = true
		t.Logf("%s: process start → first response %v", name, time.Since(e.started).Round(time.Millisecond))
	}
	return r
}

func count(tb testing.TB, client *dynamodb.Client, table, player string) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("playerId = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: player}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return int(out.Count)
}

func TestConnectMessagesDisconnectUnderTheEmulator(t *testing.T) {
	client, tables, env := engine(t)

	connect := start(t, "connect", env)
	r := connect.respond(t, "connect", wsEvent(t, "$connect", ""))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("$connect: %+v, want 200", r)
	}
	if n := count(t, client, tables.Connections, "alice"); n != 1 {
		t.Fatalf("after $connect alice has %d connection rows, want 1", n)
	}

	messages := start(t, "messages", env)
	r = messages.respond(t, "messages", wsEvent(t, "ping", `{"action":"ping","id":"p-1"}`))
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"type":"pong"`) || !strings.Contains(r.Body, `"id":"p-1"`) {
		t.Errorf("ping: %+v, want a pong for p-1", r)
	}
	r = messages.respond(t, "messages", wsEvent(t, "sendmessage", `{"action":"sendmessage","to":"bob","message":{"move":"e4"},"id":"c-1"}`))
	if !strings.Contains(r.Body, `"type":"ack"`) || !strings.Contains(r.Body, `"status":"queued"`) || !strings.Contains(r.Body, `"id":"c-1"`) {
		t.Errorf("sendmessage to offline bob: %+v, want an ack queued for c-1", r)
	}
	if n := count(t, client, tables.Mailbox, "bob"); n < 1 {
		t.Errorf("bob's mailbox has %d items, want the queued message", n)
	}

	disconnect := start(t, "disconnect", env)
	r = disconnect.respond(t, "disconnect", wsEvent(t, "$disconnect", ""))
	if r.StatusCode != http.StatusOK {
		t.Errorf("$disconnect: %+v, want 200", r)
	}
	if n := count(t, client, tables.Connections, "alice"); n != 0 {
		t.Errorf("after $disconnect alice has %d connection rows, want 0", n)
	}
}

// adminEvent is the HTTP API request of GET /admin/bans as the JWT
// authorizer passes it, for a player in groups.
func adminEvent(tb testing.TB, groups string) map[string]any {
	ev := event(tb, "apigw-v2-request-jwt-authorizer.json")
	ev["routeKey"], ev["rawPath"], ev["rawQueryString"] = "GET /admin/bans", "/admin/bans", ""
	delete(ev, "queryStringParameters")
	delete(ev, "pathParameters")
	rc := ev["requestContext"].(map[string]any)
	rc["routeKey"] = "GET /admin/bans"
	rc["http"].(map[string]any)["method"], rc["http"].(map[string]any)["path"] = "GET", "/admin/bans"
	rc["authorizer"] = map[string]any{"jwt": map[string]any{
		"claims": map[string]any{"sub": "ops", "username": "ops", "token_use": "access", "cognito:groups": groups},
		"scopes": nil,
	}}
	return ev
}

func TestAdminUnderTheEmulator(t *testing.T) {
	_, _, env := engine(t)
	env["ADMIN_GROUP"], env["PLAYER_ID_CLAIM"] = "admin", "sub"
	e := start(t, "admin", env)
	r := e.respond(t, "admin", adminEvent(t, "[admin]"))
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(r.Body), "{") {
		t.Errorf("GET /admin/bans by an admin: %+v, want 200 with a JSON body", r)
	}
	r = e.respond(t, "admin", adminEvent(t, "[players]"))
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("GET /admin/bans by a player: %+v, want 403", r)
	}
}

// TestBadConfigurationStopsAtInit: a function whose settings are refused
// stops before its first invocation and says why in its log, as it does in
// Lambda (an init error), instead of answering with a half-built handler.
func TestBadConfigurationStopsAtInit(t *testing.T) {
	_, _, env := engine(t)
	env["MAILBOX_MAX_MESSAGES"], env["MAILBOX_MAX_PER_SENDER"] = "10", "20"
	e := start(t, "messages", env)
	status, out := e.post(t, wsEvent(t, "ping", `{"action":"ping"}`))
	if status == http.StatusOK || strings.Contains(string(out), "pong") {
		t.Fatalf("a function with a refused configuration answered %d: %s", status, out)
	}
	if !poll.Within(5*time.Second, func() bool {
		return strings.Contains(e.logs(), "MAILBOX_MAX_PER_SENDER (20) must be at most MAILBOX_MAX_MESSAGES (10)")
	}) {
		t.Fatalf("the log does not give the reason; response %s, log:\n%s", out, e.logs())
	}
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// initDuration is the function's init (start of the bootstrap to its first
// request for work) as the emulator reports it, in milliseconds.
func initDuration(tb testing.TB, logs string) float64 {
	m := initReport.FindStringSubmatch(logs)
	if m == nil {
		tb.Fatalf("no INIT REPORT in the emulator's log:\n%s", logs)
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		tb.Fatal(err)
	}
	return ms
}

func mustUnmarshal(tb testing.TB, b []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("response %s: %v", b, err)
	}
}

// BenchmarkColdStart measures, per function, the time from starting the
// emulator process to the function's first response (the emulator starts
// the bootstrap on that first invocation, so this includes the function's
// init: config, SDK clients, and for the authorizer the JWKS fetch).
//
//	go test -run '^$' -bench BenchmarkColdStart -benchtime 20x ./functions/
func BenchmarkColdStart(b *testing.B) {
	iss, url := issuer(b)
	_, _, env := engine(b)
	token, _, err := iss.Issue(devissuer.TokenRequest{PlayerID: "alice"})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name  string
		env   map[string]string
		event func(testing.TB) any
	}{
		{"authorizer", authorizerEnv(url), func(tb testing.TB) any { return authorizerEvent(tb, token) }},
		{"connect", env, func(tb testing.TB) any { return wsEvent(tb, "$connect", "") }},
		{"messages", env, func(tb testing.TB) any { return wsEvent(tb, "ping", `{"action":"ping"}`) }},
		{"disconnect", env, func(tb testing.TB) any { return wsEvent(tb, "$disconnect", "") }},
		{"admin", env, func(tb testing.TB) any { return adminEvent(tb, "[admin]") }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			bootstrap(b, c.name)
			ev := c.event(b)
			var total time.Duration
			var initMs float64
			for i := 0; i < b.N; i++ {
				e := start(b, c.name, c.env)
				e.invoke(b, ev)
				total += time.Since(e.started)
				e.stop()
				initMs += initDuration(b, e.logs())
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-to-first-response")
			b.ReportMetric(initMs/float64(b.N), "ms-function-init")
		})
	}
}
