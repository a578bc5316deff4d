package wsgateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// newID returns an id shaped like API Gateway's connection, request and
// message ids: 11 random bytes, padded base64url, 16 characters ending in '='.
func newID() string {
	var b [11]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.URLEncoding.EncodeToString(b[:])
}

// requestTimeLayout is API Gateway's requestTime format, e.g.
// "20/Jan/2024:11:55:08 +0000".
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// Event types of requestContext.eventType.
const (
	eventConnect    = "CONNECT"
	eventMessage    = "MESSAGE"
	eventDisconnect = "DISCONNECT"
)

// routeKey selects the route of a text message as API Gateway's
// $request.body.action does: the value of the top-level "action" member if
// body is a JSON object and that value is a string naming one of routes,
// otherwise $default. $connect and $disconnect cannot be selected by a
// message. Keys are matched exactly (JSON member names are case-sensitive);
// with duplicate "action" members the last one counts.
func routeKey(body []byte, routes map[string]Route) string {
	// A map, not a struct: encoding/json matches struct fields without
	// regard to case. A missing "action" is an empty RawMessage, which does
	// not decode.
	var obj map[string]json.RawMessage
	var action string
	if json.Unmarshal(body, &obj) != nil || json.Unmarshal(obj["action"], &action) != nil {
		return RouteDefault
	}
	if _, ok := routes[action]; !ok || action == RouteConnect || action == RouteDisconnect {
		return RouteDefault
	}
	return action
}

// identity is what API Gateway knows of a client.
type identity struct {
	sourceIP  string
	userAgent string
}

func requestIdentity(r *http.Request) identity {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return identity{sourceIP: ip, userAgent: r.UserAgent()}
}

// requestContext builds the requestContext every WebSocket event shares.
func (g *Gateway) requestContext(c *conn, route, eventType, requestID string, now time.Time) events.APIGatewayWebsocketProxyRequestContext {
	return events.APIGatewayWebsocketProxyRequestContext{
		Stage:     g.cfg.Stage,
		RequestID: requestID,
		Identity: events.APIGatewayRequestIdentity{
			SourceIP:  c.identity.sourceIP,
			UserAgent: c.identity.userAgent,
		},
		Authorizer:        maps.Clone(c.authorizer),
		APIID:             g.cfg.APIID,
		ConnectedAt:       c.connectedAt.UnixMilli(),
		ConnectionID:      c.id,
		DomainName:        c.domainName,
		EventType:         eventType,
		ExtendedRequestID: requestID,
		MessageDirection:  "IN",
		RequestTime:       now.UTC().Format(requestTimeLayout),
		RequestTimeEpoch:  now.UnixMilli(),
		RouteKey:          route,
	}
}

// connectEvent is the $connect event: the upgrade request's headers and
// query string, and the authorizer's output.
func (g *Gateway) connectEvent(c *conn, r *http.Request, requestID string) events.APIGatewayWebsocketProxyRequest {
	headers, multiHeaders := requestHeaders(r, c.identity.sourceIP)
	query, multiQuery := queryParameters(r)
	return events.APIGatewayWebsocketProxyRequest{
		Headers:                         headers,
		MultiValueHeaders:               multiHeaders,
		QueryStringParameters:           query,
		MultiValueQueryStringParameters: multiQuery,
		RequestContext:                  g.requestContext(c, RouteConnect, eventConnect, requestID, g.cfg.Now()),
		IsBase64Encoded:                 false,
	}
}

// messageEvent is the event of one client message.
func (g *Gateway) messageEvent(c *conn, route, requestID string, m inbound) events.APIGatewayWebsocketProxyRequest {
	rc := g.requestContext(c, route, eventMessage, requestID, m.at)
	rc.MessageID = newID()
	ev := events.APIGatewayWebsocketProxyRequest{RequestContext: rc, Body: string(m.data)}
	if m.binary {
		ev.Body = base64.StdEncoding.EncodeToString(m.data)
		ev.IsBase64Encoded = true
	}
	return ev
}

// disconnectEvent is the $disconnect event. Its headers are the fixed set
// API Gateway sends.
func (g *Gateway) disconnectEvent(c *conn, requestID string, st closeStatus) events.APIGatewayWebsocketProxyRequest {
	rc := g.requestContext(c, RouteDisconnect, eventDisconnect, requestID, g.cfg.Now())
	rc.DisconnectStatusCode = int64(st.code)
	reason := st.reason
	rc.DisconnectReason = &reason
	headers := map[string]string{
		"Host":            c.domainName,
		"x-api-key":       "",
		"X-Forwarded-For": "",
		"x-restapi":       "",
	}
	multi := make(map[string][]string, len(headers))
	for k, v := range headers {
		multi[k] = []string{v}
	}
	return events.APIGatewayWebsocketProxyRequest{
		Headers:           headers,
		MultiValueHeaders: multi,
		RequestContext:    rc,
	}
}

// authorizerEvent is the REQUEST authorizer's event for an upgrade request.
func (g *Gateway) authorizerEvent(r *http.Request, id identity, requestID string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	headers, multiHeaders := requestHeaders(r, id.sourceIP)
	query, multiQuery := queryParameters(r)
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:                            "REQUEST",
		MethodArn:                       g.connectARN,
		Headers:                         headers,
		MultiValueHeaders:               multiHeaders,
		QueryStringParameters:           query,
		MultiValueQueryStringParameters: multiQuery,
		StageVariables:                  map[string]string{},
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Stage:     g.cfg.Stage,
			RequestID: requestID,
			Identity:  events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: id.sourceIP},
			APIID:     g.cfg.APIID,
		},
	}
}

// requestHeaders returns the upgrade request's headers as API Gateway passes
// them: Host included, X-Forwarded-For ending with the client's address, and
// X-Forwarded-Proto set. The single-value map holds the last value.
func requestHeaders(r *http.Request, sourceIP string) (map[string]string, map[string][]string) {
	multi := make(map[string][]string, len(r.Header)+3)
	for k, vs := range r.Header {
		if len(vs) > 0 {
			multi[k] = append([]string(nil), vs...)
		}
	}
	multi["Host"] = []string{r.Host}
	forwarded := sourceIP
	if prior := r.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		forwarded = strings.Join(prior, ", ") + ", " + sourceIP
	}
	multi["X-Forwarded-For"] = []string{forwarded}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	multi["X-Forwarded-Proto"] = []string{proto}
	return lastValues(multi), multi
}

// queryParameters returns the query string as API Gateway passes it (nil
// maps when there is none); the single-value map holds the last value.
func queryParameters(r *http.Request) (map[string]string, map[string][]string) {
	q := r.URL.Query()
	if len(q) == 0 {
		return nil, nil
	}
	return lastValues(q), q
}

// lastValues maps each key of a multi-value map to its last value.
func lastValues(multi map[string][]string) map[string]string {
	single := make(map[string]string, len(multi))
	for k, vs := range multi {
		single[k] = vs[len(vs)-1]
	}
	return single
}
