// Package e2e holds the end-to-end tests of serverless-websockets: the whole
// local stack (internal/local) on an httptest server, real WebSocket
// clients (coder/websocket), and the real AWS SDK against the local
// gateway's /@connections Management API.
package e2e
