package wsgateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
	"github.com/coder/websocket"
)

// managementClient is the real SDK client pointed at the gateway.
func managementClient(endpoint, region, accessKeyID, secret string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secret, ""),
	})
}

// post posts data to connection id with api.
func post(ctx context.Context, api *apigatewaymanagementapi.Client, id, data string) error {
	_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte(data)})
	return err
}

// isGone reports whether err is the SDK's GoneException.
func isGone(err error) bool {
	_, ok := errors.AsType[*types.GoneException](err)
	return ok
}

// apiErrorOf returns the error code and HTTP status of an SDK error.
func apiErrorOf(err error) (string, int) {
	code, status := "", 0
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		code = ae.ErrorCode()
	}
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok {
		status = re.HTTPStatusCode()
	}
	return code, status
}

func TestManagementAPIWithSDK(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	clk := &fakeTimers{now: t0}
	h := newHarness(t, func(c *Config) { c.Now = clk.Now })
	ws := h.dial("alice", nil)
	id := h.lastConnectionID()
	api := managementClient(h.srv.URL, "us-east-1", "local", "local")
	ctx := context.Background()

	t.Run("post reaches the client", func(t *testing.T) {
		for _, data := range []string{`{"type":"message","from":"bob"}`, strings.Repeat("z", 100<<10)} {
			if err := post(ctx, api, id, data); err != nil {
				t.Fatalf("PostToConnection: %v", err)
			}
			ws.SetReadLimit(-1)
			if got := receive(t, ws); got != data {
				t.Errorf("client got %d bytes, want %d", len(got), len(data))
			}
		}
	})

	t.Run("get answers", func(t *testing.T) {
		out, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetConnection: %v", err)
		}
		if out.ConnectedAt == nil || !out.ConnectedAt.Equal(t0) || out.LastActiveAt == nil || !out.LastActiveAt.Equal(t0) {
			t.Errorf("connectedAt %v, lastActiveAt %v; want both %v", out.ConnectedAt, out.LastActiveAt, t0)
		}
		if out.Identity == nil || aws.ToString(out.Identity.SourceIp) != "127.0.0.1" || aws.ToString(out.Identity.UserAgent) != "gateway-test/1.0" {
			t.Errorf("identity = %+v", out.Identity)
		}

		clk.Advance(5 * time.Second)
		exchange(t, ws, "hello")
		out, err = api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetConnection: %v", err)
		}
		if want := t0.Add(5 * time.Second); out.LastActiveAt == nil || !out.LastActiveAt.Equal(want) || !out.ConnectedAt.Equal(t0) {
			t.Errorf("after a message: connectedAt %v, lastActiveAt %v; want %v, %v", out.ConnectedAt, out.LastActiveAt, t0, want)
		}
	})

	t.Run("unknown id is gone", func(t *testing.T) {
		unknown := newID()
		errPost := post(ctx, api, unknown, "x")
		_, errGet := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &unknown})
		_, errDelete := api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: &unknown})
		for _, err := range []error{errPost, errGet, errDelete} {
			if !isGone(err) {
				t.Errorf("error %v is not a GoneException", err)
			}
			if _, status := apiErrorOf(err); status != http.StatusGone {
				t.Errorf("status = %d, want 410", status)
			}
		}
	})

	t.Run("bad credentials are forbidden", func(t *testing.T) {
		for _, c := range []struct {
			name, region, key, secret string
		}{
			{"wrong secret", "us-east-1", "local", "wrong"},
			{"wrong access key", "us-east-1", "other", "local"},
			{"wrong region", "eu-west-1", "local", "local"},
		} {
			err := post(ctx, managementClient(h.srv.URL, c.region, c.key, c.secret), id, "forged")
			if code, status := apiErrorOf(err); status != http.StatusForbidden || code != "ForbiddenException" {
				t.Errorf("%s: error %v (%s, %d), want 403 ForbiddenException", c.name, err, code, status)
			}
		}
	})

	t.Run("unsigned is forbidden", func(t *testing.T) {
		for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
			req, _ := http.NewRequest(method, h.srv.URL+"/@connections/"+strings.ReplaceAll(id, "=", "%3D"), strings.NewReader("forged"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || string(body) != `{"message":"Forbidden"}` {
				t.Errorf("%s: %d %s, want 403 {\"message\":\"Forbidden\"}", method, resp.StatusCode, body)
			}
		}
		// Nothing forged reached the client: its next frame is the next post.
		if err := post(ctx, api, id, "genuine"); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, ws); got != "genuine" {
			t.Errorf("client got %q, want genuine", got)
		}
	})

	t.Run("too large", func(t *testing.T) {
		err := post(ctx, api, id, string(make([]byte, 128<<10+1)))
		if _, ok := errors.AsType[*types.PayloadTooLargeException](err); !ok {
			t.Errorf("error %v is not a PayloadTooLargeException", err)
		}
	})

	t.Run("delete closes the client", func(t *testing.T) {
		if _, err := api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
			t.Fatalf("DeleteConnection: %v", err)
		}
		checkClosed(t, h, ws, websocket.StatusNormalClosure, "")
		if err := post(ctx, api, id, "late"); !isGone(err) {
			t.Errorf("post after delete: %v, want GoneException", err)
		}
	})
	h.shutdownAndCheckDisconnects()
}

// TestDisconnectHandlerSeesGone runs the SDK from $disconnect, as a cleanup
// handler would: the connection is already gone.
func TestDisconnectHandlerSeesGone(t *testing.T) {
	var endpoint atomic.Value
	result := make(chan error, 1)
	h := newHarness(t, func(c *Config) {
		c.Routes[RouteDisconnect] = Route{Handler: func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			api := managementClient(endpoint.Load().(string), "us-east-1", "local", "local")
			result <- post(ctx, api, req.RequestContext.ConnectionID, "bye")
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		}}
	})
	endpoint.Store(h.srv.URL)
	c := h.dial("alice", nil)
	_ = c.Close(websocket.StatusNormalClosure, "")
	select {
	case err := <-result:
		if !isGone(err) {
			t.Errorf("post from $disconnect: %v, want GoneException", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("no $disconnect")
	}
}

func TestManagementPathWithStage(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial("alice", nil)
	api := managementClient(h.srv.URL+"/local", "us-east-1", "local", "local")
	if err := post(context.Background(), api, h.lastConnectionID(), "via stage"); err != nil {
		t.Fatalf("PostToConnection: %v", err)
	}
	if got := receive(t, c); got != "via stage" {
		t.Errorf("client got %q", got)
	}
}

// TestPostRightAfterUpgrade posts to each connection as soon as its client
// has the 101: the connection must already be reachable.
func TestPostRightAfterUpgrade(t *testing.T) {
	h := newHarness(t, nil)
	api := managementClient(h.srv.URL, "us-east-1", "local", "local")
	for range 20 {
		c := h.dial("alice", nil)
		if err := post(context.Background(), api, h.lastConnectionID(), "welcome"); err != nil {
			t.Fatalf("PostToConnection right after the upgrade: %v", err)
		}
		if got := receive(t, c); got != "welcome" {
			t.Fatalf("client got %q", got)
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
	}
}
