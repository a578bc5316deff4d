// Package wsgateway is an in-process stand-in for API Gateway's WebSocket API,
// so that the very same Lambda handlers run on one machine.
//
// It knows only aws-lambda-go event types and function signatures: a REQUEST
// authorizer ([AuthorizerFunc]) and route handlers ([HandlerFunc]) are plain
// functions, wired by the caller. The gateway serves two things:
//
//   - GET /ws?token=… — the WebSocket upgrade. The token query parameter is the
//     identity source: without it the answer is 401 and nothing runs. The
//     authorizer decides (error "Unauthorized" → 401, any other error → 500,
//     no Allow for execute-api:Invoke on the $connect method ARN → 403), then
//     the $connect route runs, and the upgrade completes (101) only after
//     $connect returns 2xx; another status is answered to the client as is.
//   - POST|GET|DELETE /@connections/{id} — the Management API, answering only
//     requests signed with AWS Signature Version 4 with the configured
//     credentials, so the real AWS SDK and CLI can be pointed at it.
//
// # Behaviour and the choices made where API Gateway leaves room
//
// Route selection follows $request.body.action: a text message that is a JSON
// object whose top-level "action" is a string naming a configured route goes
// to that route, everything else (including binary frames, which arrive
// base64-encoded with isBase64Encoded set) to $default. Without a $default
// route the client gets API Gateway's {"message": "Forbidden", …} frame.
//
// Messages of one connection are handled in order, one at a time, on a
// goroutine of their own: a slow handler delays only its own connection.
// (API Gateway invokes once per message and may overlap invocations of one
// connection; in-order delivery is easier to reason about for a game and is
// one of the orders API Gateway may produce.) Up to 16 messages wait in a
// connection's queue; beyond that the gateway stops reading from that client,
// which pushes back through TCP. Once a connection is deleted (DELETE
// /@connections/{id}: a kick, a ban, an expired token) the messages still
// in its queue, or waiting for an invocation slot, are dropped, not
// handled: a kicked or banned player's frames do not act after the kick.
// The message whose handler is running then finishes. A connection that
// ends otherwise (the client's close, a timeout, Shutdown) still has its
// queued messages handled, as API Gateway still invokes the routes of the
// frames it accepted. Pongs are not read meanwhile either, so a
// client kept waiting behind a full queue for more than a ping interval is
// dropped.
//
// Everything written to a client (Management API posts, route responses, API
// Gateway's error frames, and the close frame of a server-side close) goes
// through one outbound buffer per connection, in order, drained by a writer
// goroutine that exists only while frames wait. A post is answered 200 once
// its frame is in the buffer, as API Gateway answers before the frame reaches
// the client, so a client that does not read never holds up the invocation
// that posts to it. The buffer holds at most Config.MaxOutboundFrames (64)
// frames and Config.MaxOutboundBytes (1 MiB); a post that finds it full is
// answered 429 with x-amzn-ErrorType LimitExceededException and
// {"message":"Limit Exceeded"} (the AWS SDK's *types.LimitExceededException),
// and nothing is queued; a route response or error frame, the answer to the
// client's own frame, waits for room instead (at most 10 seconds), so a
// client that sends faster than it reads is slowed down and loses no
// answer. Each frame's write may take 10 seconds; a client
// that does not read for that long is dropped (1006), and what is left in
// its buffer is discarded. A close (DELETE, a timeout, Shutdown) is written
// after the frames already accepted, so a frame posted before a DELETE
// reaches the client before the close frame. Likewise, when the client's
// close frame arrives, posts answer 410 from then on and the frames already
// accepted are written before the gateway answers the close, so a client
// that reads until the server's close frame (as RFC 6455 asks) gets every
// frame a post was answered 200 for.
//
// An idle connection costs one goroutine (its reader), three runtime timers
// (idle timeout, maximum duration, ping) and three 1 KiB buffers; the worker
// and writer goroutines exist only while messages or frames wait.
// BENCHMARKS.md has the resident memory per idle connection.
//
// A connection is registered before the 101 response is written, so the
// Management API reaches a client as soon as its upgrade completes; a post or
// DELETE arriving in between is queued and written once the upgrade is done.
//
// A route answers its client only when [Route.RouteResponse] is set (API
// Gateway's RouteResponseSelectionExpression $default) and its body is not
// empty. A handler error or panic is logged and answered with API Gateway's
// {"message": "Internal server error", "connectionId": …, "requestId": …}.
//
// The authorizer's context values keep their JSON types: strings stay
// strings, booleans stay booleans and numbers become float64, exactly what a
// Lambda function decoding the event with encoding/json would see. The
// response is passed through JSON once to guarantee this; a context value
// that is not a string, number or boolean fails the connection with 500, as
// API Gateway does. requestContext.authorizer holds principalId and every
// context key on every route, $connect and $disconnect included.
//
// The aws-lambda-go REQUEST authorizer type has no fields for routeKey,
// eventType, connectionId and the like, so a Go authorizer cannot see them in
// the cloud either (the Lambda runtime drops unknown JSON fields); the event
// carries type, methodArn, headers, query string parameters, stage variables
// and requestContext.{stage, requestId, apiId, identity.sourceIp}.
//
// $disconnect runs exactly once for every connection whose $connect
// succeeded, after the socket is gone and the connection has left the
// registry (so a Management API call made from $disconnect gets 410, as in the
// cloud), and after the handler running when it closed has returned. At
// most Config.DisconnectConcurrency (8) run at once, as a Lambda function's
// reserved concurrency would bound them, so thousands of clients closing
// together queue their $disconnect instead of starving everyone else.
// Likewise at most Config.MessageConcurrency (64) message-route invocations
// run at once across all connections; a frame past that waits in its
// connection's queue (in order, with the queue's back-pressure), where Lambda
// would throttle it. $disconnect's disconnectStatusCode and disconnectReason
// are:
//
//   - the client's close frame: the client's code and reason (1005 for none);
//   - DELETE /@connections/{id}: 1000, "" (the client receives 1000);
//   - idle timeout, maximum duration and [Gateway.Shutdown]: 1001 "Going away";
//   - a frame or message over the limits: 1009 "Message too big";
//   - a dropped TCP connection or unanswered pings: 1006, "".
//
// Limits. coder/websocket enforces the message limit itself (SetReadLimit).
// It does not expose frame boundaries, so the gateway reads the frame headers
// in the byte stream below it (a transparent reader over the hijacked
// connection) and closes with 1009 when a data frame's payload is over
// MaxFrameBytes; browsers send every message as a single frame, so for them
// the frame limit is the message limit. The idle timeout counts client data
// messages only (not pongs): API Gateway closes a connection that has sent
// nothing for 10 minutes even if it answers pings.
//
// A connection that stops answering is found by ping/pong: a ping every
// PingInterval, and no pong within PingInterval closes the connection, so a
// silent drop is noticed within two intervals (60 s by default).
//
// Connection ids have API Gateway's shape: 11 random bytes in padded
// base64url, 16 characters ending in '='. (Ids seen in the cloud have exactly
// this length and final characters, and contain '-' and '_' but never '+' or
// '/'.) Request and message ids share the shape.
//
// The origin of the upgrade request is not checked, as API Gateway does not
// check it either; the token is the only credential. Responses of the
// $connect route may carry Sec-WebSocket-Protocol to choose the subprotocol,
// as in API Gateway. Not emulated: the account-wide rate of new connections,
// authorizer result caching and stage variables (always empty).
//
// Logs (log/slog) carry connection ids, request ids, route keys and status
// codes; never tokens, headers or message bodies.
package wsgateway
