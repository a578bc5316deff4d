package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/golang-jwt/jwt/v5"

	"github.com/serverless-websockets/serverless-websockets/internal/awsclients"
	"github.com/serverless-websockets/serverless-websockets/internal/cognito"
)

// cognitoOptions are the -cognito-* flags.
type cognitoOptions struct {
	userPool string // user pool id; empty: development tokens
	clientID string // app client id, without a secret, allowing USER_PASSWORD_AUTH
	region   string
	endpoint string // a Cognito-compatible endpoint on loopback (cognito-local); empty: AWS
	prefix   string // user names are prefix + a four-digit number (before the @ of an email prefix)
	claim    string // the token claim the stack takes the player id from
	cleanup  bool
}

// cognitoPlayers are test users in a Cognito user pool: created with
// AdminCreateUser (or reused when they exist), given this run's password with
// AdminSetUserPassword and signed in with InitiateAuth.
type cognitoPlayers struct {
	api      *cip.Client
	o        cognitoOptions
	password string

	mu    sync.Mutex
	users []string // the users this run signed in
}

func newCognito(ctx context.Context, o cognitoOptions) (*cognitoPlayers, error) {
	// Every Cognito request keeps the deadline policy of the project's AWS
	// clients (internal/awsclients): a bounded attempt, a bounded retry.
	cfg := aws.Config{Region: o.region, HTTPClient: awsclients.HTTPClient(), Retryer: awsclients.Retryer}
	if o.endpoint != "" {
		// An emulator: any credentials do, and no AWS profile is read.
		cfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
	} else {
		def, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(o.region))
		if err != nil {
			return nil, fmt.Errorf("cognito: load AWS config: %w", err)
		}
		cfg.Credentials = def.Credentials
	}
	var secret [12]byte
	_, _ = rand.Read(secret[:])
	// Upper and lower case, digits and a symbol: Cognito's default policy.
	return &cognitoPlayers{api: cognito.NewClient(cfg, o.endpoint), o: o, password: "Lt-" + hex.EncodeToString(secret[:]) + "-Aa9"}, nil
}

func (c *cognitoPlayers) kind() string { return "cognito" }

func (c *cognitoPlayers) players(ctx context.Context, _ string, n int) ([]identity, error) {
	out := make([]identity, n)
	errs := make([]error, n)
	forEach(n, 4, func(i int) {
		out[i], errs[i] = c.signIn(ctx, userName(c.o.prefix, i))
	})
	return out, errors.Join(errs...)
}

// userName is test user i: the prefix and a four-digit number, which goes
// before the @ of a prefix such as loadtest-@example.com, for pools that sign
// users in by email.
func userName(prefix string, i int) string {
	local, domain, ok := strings.Cut(prefix, "@")
	if ok {
		return fmt.Sprintf("%s%04d@%s", local, i, domain)
	}
	return fmt.Sprintf("%s%04d", prefix, i)
}

// signIn creates user (or reuses it), sets this run's password and signs in.
func (c *cognitoPlayers) signIn(ctx context.Context, user string) (identity, error) {
	pool := aws.String(c.o.userPool)
	_, err := c.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: pool, Username: &user, MessageAction: ciptypes.MessageActionTypeSuppress})
	if _, exists := errors.AsType[*ciptypes.UsernameExistsException](err); err != nil && !exists {
		return identity{}, fmt.Errorf("create user %s: %w", user, err)
	}
	c.mu.Lock()
	c.users = append(c.users, user)
	c.mu.Unlock()
	_, err = c.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: pool, Username: &user, Password: &c.password, Permanent: true})
	if err != nil {
		return identity{}, fmt.Errorf("set the password of %s: %w", user, err)
	}
	out, err := c.api.InitiateAuth(ctx, &cip.InitiateAuthInput{
		AuthFlow:       ciptypes.AuthFlowTypeUserPasswordAuth,
		ClientId:       aws.String(c.o.clientID),
		AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": c.password},
	})
	if err != nil {
		return identity{}, fmt.Errorf("sign %s in: %w", user, err)
	}
	if out.AuthenticationResult == nil || out.AuthenticationResult.AccessToken == nil {
		return identity{}, fmt.Errorf("sign %s in: no access token in the answer (a challenge?)", user)
	}
	token := *out.AuthenticationResult.AccessToken
	player, err := claim(token, c.o.claim)
	if err != nil {
		return identity{}, fmt.Errorf("token of %s: %w", user, err)
	}
	return identity{player: player, token: token}, nil
}

// cleanup deletes the users this run signed in.
func (c *cognitoPlayers) cleanup(ctx context.Context) error {
	c.mu.Lock()
	users := c.users
	c.users = nil
	c.mu.Unlock()
	errs := make([]error, len(users))
	forEach(len(users), 4, func(i int) {
		_, err := c.api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(c.o.userPool), Username: &users[i]})
		if _, gone := errors.AsType[*ciptypes.UserNotFoundException](err); err != nil && !gone {
			errs[i] = fmt.Errorf("delete user %s: %w", users[i], err)
		}
	})
	return errors.Join(errs...)
}

// claim reads a string claim from a token's payload without verifying it:
// the stack verifies the token; the run only needs the player id it will
// take from it.
func claim(token, name string) (string, error) {
	var claims jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil {
		return "", err
	}
	v, ok := claims[name].(string)
	if !ok || v == "" {
		return "", fmt.Errorf("no string claim %q", name)
	}
	return v, nil
}
