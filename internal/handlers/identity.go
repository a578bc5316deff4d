package handlers

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// Identity is the player a connection is bound to, as the authorizer put it
// in requestContext.authorizer on $connect; API Gateway repeats it on every
// later route of the connection.
type Identity struct {
	PlayerID       string
	PlayerName     string
	Groups         []string
	TokenExpiresAt time.Time // zero when the authorizer gave none
}

var errNoIdentity = errors.New("no authorizer context on the request")

// identityFrom reads the authorizer context. Values may arrive as strings or
// as JSON numbers, depending on the gateway, so both are accepted.
func identityFrom(rc events.APIGatewayWebsocketProxyRequestContext) (Identity, error) {
	m, ok := rc.Authorizer.(map[string]any)
	if !ok {
		return Identity{}, errNoIdentity
	}
	id := Identity{PlayerID: cmp.Or(str(m["playerId"]), str(m["principalId"])), PlayerName: str(m["playerName"])}
	if err := domain.ValidatePlayerID(id.PlayerID); err != nil {
		return Identity{}, fmt.Errorf("authorizer context: %w", err)
	}
	if g := str(m["groups"]); g != "" {
		id.Groups = strings.Split(g, " ")
	}
	if exp, ok := number(m["tokenExpiresAt"]); ok {
		id.TokenExpiresAt = time.Unix(exp, 0)
	}
	return id, nil
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func number(v any) (int64, bool) {
	switch v := v.(type) {
	case float64:
		return int64(v), true
	case int64:
		return v, true
	case int:
		return int64(v), true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}
