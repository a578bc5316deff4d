// Package domain holds the vocabulary of serverless-websockets: players,
// connections, queued messages and the closed set of error codes a client can
// see. It knows nothing of AWS, DynamoDB or WebSockets; the adapters
// (internal/dynamo, internal/managementapi, internal/local/wsgateway) depend on it, never the
// reverse.
package domain
