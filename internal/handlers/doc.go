// Package handlers holds the route handlers of the WebSocket API, written
// with the exact aws-lambda-go signatures so that the same code runs in
// Lambda and behind the local gateway:
//
//	Connect     $connect     binds the connection to the authorizer's player and stores its row
//	Disconnect  $disconnect  deletes the row of that player's connection
//	Messages    sendmessage, inbox, presence, ping and $default
//
// Each handler declares the small interfaces it needs (Connections, Mailbox,
// Sender, limiters); the DynamoDB adapter, the Management API sender and the
// rate limiter implement them. The player is always the one in the
// authorizer context, never one named in a frame.
package handlers
