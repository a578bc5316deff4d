package wsgateway_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/serverless-websockets/serverless-websockets/internal/local/wsgateway"
)

// Example wires a Gateway with a trivial authorizer and an echo route, and
// talks to it with a WebSocket client.
func Example() {
	// A real authorizer verifies the token; this one takes it as the player.
	authorize := func(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		player := req.QueryStringParameters["token"]
		return events.APIGatewayCustomAuthorizerResponse{
			PrincipalID: player,
			PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
				Version: "2012-10-17",
				Statement: []events.IAMPolicyStatement{{
					Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{req.MethodArn},
				}},
			},
			Context: map[string]any{"playerId": player},
		}, nil
	}
	echo := func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		player := req.RequestContext.Authorizer.(map[string]any)["playerId"]
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: fmt.Sprintf("%s said %s", player, req.Body)}, nil
	}

	g, err := wsgateway.New(wsgateway.Config{
		Authorizer: authorize,
		Routes:     map[string]wsgateway.Route{wsgateway.RouteDefault: {Handler: echo, RouteResponse: true}},
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", g)
	mux.Handle("/@connections/", g) // the Management API, for the AWS SDK
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer func() { _ = g.Shutdown(context.Background()) }()

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?token=alice", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = c.CloseNow() }()
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		fmt.Println(err)
		return
	}
	_, reply, err := c.Read(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(reply))
	_ = c.Close(websocket.StatusNormalClosure, "")
	// Output: alice said hello
}
