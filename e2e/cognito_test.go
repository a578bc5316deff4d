package e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/serverless-websockets/serverless-websockets/internal/cognito"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/testenv"
)

// cognitoLocal returns a client of the cognito-local that scripts/test
// starts (see testenv.CognitoLocal).
func cognitoLocal(t *testing.T) (*cip.Client, string) {
	t.Helper()
	endpoint := testenv.CognitoLocal(t)
	return cip.New(cip.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	}), endpoint
}

// newPool makes a user pool with an app client and a user bob.
func newPool(t *testing.T, c *cip.Client) (poolID, clientID string) {
	t.Helper()
	ctx := t.Context()
	pool, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("admin-test")})
	if err != nil {
		t.Fatalf("CreateUserPool: %v", err)
	}
	poolID = aws.ToString(pool.UserPool.Id)
	app, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(poolID), ClientName: aws.String("game"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
	})
	if err != nil {
		t.Fatalf("CreateUserPoolClient: %v", err)
	}
	clientID = aws.ToString(app.UserPoolClient.ClientId)
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatalf("AdminCreateUser: %v", err)
	}
	if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(poolID), Username: aws.String("bob"), Password: aws.String("Correct-Horse-42"), Permanent: true}); err != nil {
		t.Fatalf("AdminSetUserPassword: %v", err)
	}
	return poolID, clientID
}

func signIn(ctx context.Context, c *cip.Client, clientID string) error {
	_, err := c.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId: aws.String(clientID), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": "bob", "PASSWORD": "Correct-Horse-42"},
	})
	return err
}

// signOutFake stands in for AdminUserGlobalSignOut, which cognito-local
// lacks, and passes the other two calls to cognito-local.
type signOutFake struct {
	cognito.API
	signOut func(username string) error
}

func (f signOutFake) AdminUserGlobalSignOut(_ context.Context, in *cip.AdminUserGlobalSignOutInput, _ ...func(*cip.Options)) (*cip.AdminUserGlobalSignOutOutput, error) {
	if err := f.signOut(aws.ToString(in.Username)); err != nil {
		return nil, err
	}
	return &cip.AdminUserGlobalSignOutOutput{}, nil
}

// TestAdminBanCognito runs the ban's Cognito steps through the SDK against
// cognito-local, reached the way the stack reaches any Cognito endpoint:
// COGNITO_USER_POOL_ID and AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER.
func TestAdminBanCognito(t *testing.T) {
	c, endpoint := cognitoLocal(t)
	poolID, clientID := newPool(t, c)
	ctx := t.Context()
	if err := signIn(ctx, c, clientID); err != nil {
		t.Fatalf("bob cannot sign in before the ban: %v", err)
	}
	s := startStack(t, noLimits(), withEnv("COGNITO_USER_POOL_ID", poolID), withEnv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", endpoint))
	var signedOut []string
	api := cognito.NewClient(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}, endpoint)
	accounts, err := cognito.New(signOutFake{API: api, signOut: func(u string) error { signedOut = append(signedOut, u); return nil }}, poolID)
	if err != nil {
		t.Fatal(err)
	}
	// The stack built its own Cognito client from the variables; only the
	// sign-out the emulator lacks goes to the fake.
	if s.Admin.Accounts == nil {
		t.Fatal("COGNITO_USER_POOL_ID set, but the admin API has no accounts")
	}
	s.Admin.Accounts = accounts
	root := s.tokenIn("root", "admin")
	bob := s.dial("bob")

	status, body := s.admin("POST", "/admin/players/bob/ban", root, map[string]any{"reason": "cheating"})
	steps, _ := body["steps"].(map[string]any)
	if status != 200 || steps["signOut"] != "ok" || steps["disable"] != "ok" || body["closed"] != float64(1) {
		t.Fatalf("ban = %d %v", status, body)
	}
	bob.closed()
	if len(signedOut) != 1 || signedOut[0] != "bob" {
		t.Errorf("signed out %v, want [bob]", signedOut)
	}
	// cognito-local 5.3.0 still lets a disabled user sign in (AWS does
	// not), so the user's state is read back instead.
	user, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob")})
	if err != nil || user.Enabled {
		t.Errorf("bob after the ban: enabled=%v, %v; want disabled", user != nil && user.Enabled, err)
	}

	status, body = s.admin("DELETE", "/admin/players/bob/ban", root, nil)
	if steps, _ := body["steps"].(map[string]any); status != 200 || body["lifted"] != true || steps["enable"] != "ok" {
		t.Fatalf("unban = %d %v", status, body)
	}
	user, err = c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob")})
	if err != nil || !user.Enabled {
		t.Errorf("bob after the unban: enabled=%v, %v; want enabled", user != nil && user.Enabled, err)
	}
	if err := signIn(ctx, c, clientID); err != nil {
		t.Errorf("bob cannot sign in after the unban: %v", err)
	}
}

// TestAdminBanCognitoFailure: when Cognito fails, the ban is still recorded
// and the player still disconnected, and the answer names the failed steps.
func TestAdminBanCognitoFailure(t *testing.T) {
	s := startStack(t, noLimits())
	accounts, err := cognito.New(failingCognito{}, "us-east-1_pool")
	if err != nil {
		t.Fatal(err)
	}
	s.Admin.Accounts = accounts
	root := s.tokenIn("root", "admin")
	bob := s.dial("bob")

	status, body := s.admin("POST", "/admin/players/bob/ban", root, map[string]any{"reason": "cheating", "durationSeconds": 600})
	steps, _ := body["steps"].(map[string]any)
	if status != http.StatusServiceUnavailable || body["code"] != "unavailable" || body["ban"] == nil || body["closed"] != float64(1) ||
		steps["record"] != "ok" || steps["disconnect"] != "ok" || steps["signOut"] != "failed" || steps["disable"] != "failed" {
		t.Fatalf("ban with Cognito down = %d %v", status, body)
	}
	if msg, _ := body["message"].(string); msg != "the ban is recorded, but these steps failed: signOut, disable" {
		t.Errorf("message = %q", msg)
	}
	bob.closed()
	if status, f := s.dialRefused(s.token("bob", 3600)); status != http.StatusForbidden || f["code"] != "banned" {
		t.Errorf("bob's reconnect = %d %v, want 403 banned", status, f)
	}
	status, body = s.admin("DELETE", "/admin/players/bob/ban", root, nil)
	if steps, _ := body["steps"].(map[string]any); status != http.StatusServiceUnavailable || body["lifted"] != true || steps["enable"] != "failed" {
		t.Errorf("unban with Cognito down = %d %v", status, body)
	}
}

// failingCognito fails every call, as an unreachable Cognito would.
type failingCognito struct{}

var errCognitoDown = errors.New("cognito unreachable")

func (failingCognito) AdminUserGlobalSignOut(context.Context, *cip.AdminUserGlobalSignOutInput, ...func(*cip.Options)) (*cip.AdminUserGlobalSignOutOutput, error) {
	return nil, errCognitoDown
}

func (failingCognito) AdminDisableUser(context.Context, *cip.AdminDisableUserInput, ...func(*cip.Options)) (*cip.AdminDisableUserOutput, error) {
	return nil, errCognitoDown
}

func (failingCognito) AdminEnableUser(context.Context, *cip.AdminEnableUserInput, ...func(*cip.Options)) (*cip.AdminEnableUserOutput, error) {
	return nil, errCognitoDown
}
