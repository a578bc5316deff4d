// Package authorizer verifies the JSON Web Tokens that game clients present
// when they open a WebSocket, and answers API Gateway's REQUEST authorizer on
// the $connect route.
//
// A [Verifier] checks a token against the issuer's JSON Web Key Set (Cognito's
// in the cloud, the development issuer's in local mode): RS256 or ES256 only,
// the exact issuer, exp/nbf/iat with a small leeway, token_use, the audience
// (client_id for access tokens, aud for ID tokens) and a valid player id. The
// key set is fetched once when the Verifier is built and kept for the life of
// the process; a token signed with an unknown key id triggers a new fetch at
// most once per [Config.UnknownKIDRefreshInterval]. No goroutine runs in the
// background, which suits Lambda, where a frozen process must not own timers.
//
// A [Handler] turns a verified token into an Allow policy for the $connect
// method ARN with the player's identity in the authorizer context, a bad
// token into a Deny (API Gateway answers 403), and a missing token into
// [ErrUnauthorized] (API Gateway answers 401). Tokens are never logged.
package authorizer
