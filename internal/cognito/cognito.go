// Package cognito is the adapter for the Cognito user pool's admin actions
// the admin API takes on a player's account: sign out everywhere, disable
// and enable, through aws-sdk-go-v2's cognitoidentityprovider client. The
// player id is passed as the user name: Cognito accepts a user's username,
// an alias, or its sub.
package cognito

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// API is the part of the Cognito client Accounts uses.
type API interface {
	AdminUserGlobalSignOut(ctx context.Context, in *cip.AdminUserGlobalSignOutInput, opts ...func(*cip.Options)) (*cip.AdminUserGlobalSignOutOutput, error)
	AdminDisableUser(ctx context.Context, in *cip.AdminDisableUserInput, opts ...func(*cip.Options)) (*cip.AdminDisableUserOutput, error)
	AdminEnableUser(ctx context.Context, in *cip.AdminEnableUserInput, opts ...func(*cip.Options)) (*cip.AdminEnableUserOutput, error)
}

var _ API = (*cip.Client)(nil)

// Accounts acts on the users of one pool.
type Accounts struct {
	api    API
	poolID string
}

// New returns Accounts of poolID over api.
func New(api API, poolID string) (*Accounts, error) {
	if api == nil || poolID == "" {
		return nil, errors.New("cognito: a client and a user pool id are required")
	}
	return &Accounts{api: api, poolID: poolID}, nil
}

// NewClient returns a Cognito client over cfg (region, credentials, the
// deadline policy). A non-empty endpoint (from
// AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER) replaces AWS's, for a
// Cognito-compatible emulator.
func NewClient(cfg aws.Config, endpoint string) *cip.Client {
	return cip.NewFromConfig(cfg, func(o *cip.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// SignOut invalidates the user's refresh tokens (AdminUserGlobalSignOut).
// Access tokens stay valid until they expire, which is why $connect checks
// bans itself.
func (a *Accounts) SignOut(ctx context.Context, username string) error {
	_, err := a.api.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: &a.poolID, Username: &username})
	return named("sign out", username, err)
}

// Disable stops the user from signing in (AdminDisableUser).
func (a *Accounts) Disable(ctx context.Context, username string) error {
	_, err := a.api.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &a.poolID, Username: &username})
	return named("disable", username, err)
}

// Enable lets the user sign in again (AdminEnableUser).
func (a *Accounts) Enable(ctx context.Context, username string) error {
	_, err := a.api.AdminEnableUser(ctx, &cip.AdminEnableUserInput{UserPoolId: &a.poolID, Username: &username})
	return named("enable", username, err)
}

// named names the request in its error. The client's deadline policy
// (internal/awsclients) and the handler's context bound every request.
func named(what, username string, err error) error {
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, username, err)
	}
	return nil
}
