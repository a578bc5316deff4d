// Package protocol is the client protocol of serverless-websockets: how a
// client's JSON text frame is read, and the frames the server sends back.
//
// Client to server, routed by the "action" field exactly as API Gateway's
// $request.body.action does:
//
//	{"action":"sendmessage","to":"bob","message":<any JSON>,"id":"c-17"}
//	{"action":"sendmessage","message":"hi","playerId":"alice","destinationPlayerId":"bob"}  (prototype form)
//	{"action":"ping","id":"…"}
//	{"action":"inbox"}
//	{"action":"presence","players":["bob","carol"]}
//
// A frame must be valid UTF-8 and nest arrays and objects at most MaxDepth
// deep; the client's "id" is read before anything else, so that every
// refusal can echo it.
//
// Server to client: "message", "ack", "error", "pong", "inbox" and "presence"
// frames (see the types below). Error frames carry a code from the closed set
// in package domain.
package protocol
