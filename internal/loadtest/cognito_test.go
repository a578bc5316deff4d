package loadtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/testenv"
)

// TestCognitoPlayers runs pairs against a local stack that trusts a
// cognito-local user pool: the load test creates the users there, signs them
// in, plays, and deletes them.
func TestCognitoPlayers(t *testing.T) {
	endpoint := testenv.CognitoLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := cognitoOptions{region: "us-east-1", endpoint: endpoint}
	players, err := newCognito(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	api := players.api
	// cognito-local's pools sign users in by email unless told otherwise.
	pool, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("loadtest")})
	if err != nil {
		t.Fatalf("create user pool: %v", err)
	}
	poolID := *pool.UserPool.Id
	client, err := api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId:        aws.String(poolID),
		ClientName:        aws.String("loadtest"),
		ExplicitAuthFlows: []ciptypes.ExplicitAuthFlowsType{ciptypes.ExplicitAuthFlowsTypeAllowUserPasswordAuth},
	})
	if err != nil {
		t.Fatalf("create app client: %v", err)
	}
	clientID := *client.UserPoolClient.ClientId

	// The issuer is whatever cognito-local writes in its tokens: learn it
	// from one, as a deployment takes it from the pool.
	o.userPool, o.clientID, o.prefix, o.claim = poolID, clientID, "probe-", "username"
	players.o = o
	probe, err := players.signIn(ctx, "probe@loadtest.invalid")
	if err != nil {
		t.Fatalf("probe sign-in: %v", err)
	}
	issuer, err := claim(probe.token, "iss")
	if err != nil {
		t.Fatal(err)
	}
	if err := players.cleanup(ctx); err != nil {
		t.Fatal(err)
	}

	prefix := "lt-" + time.Now().Format("150405.000") + "-@loadtest.invalid"
	// A user that exists already is reused.
	if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String(userName(prefix, 0)), MessageAction: ciptypes.MessageActionTypeSuppress}); err != nil {
		t.Fatalf("create a user beforehand: %v", err)
	}
	rep, stderr, err := runReport(t,
		"-scenario", "pairs", "-players", "4", "-messages", "5",
		"-env", "JWT_ISSUER="+issuer,
		"-env", "JWKS_URL="+endpoint+"/"+poolID+"/.well-known/jwks.json",
		"-env", "JWT_AUDIENCE="+clientID,
		"-env", "PLAYER_ID_CLAIM=username",
		"-cognito-user-pool", poolID, "-cognito-client-id", clientID,
		"-cognito-endpoint", endpoint, "-user-prefix", prefix, "-cleanup",
	)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	checkConsistent(t, rep)
	if rep.Settings.Identities != "cognito" || rep.Check.Read != 20 {
		t.Errorf("identities %q, read %d; want 20 messages between Cognito players", rep.Settings.Identities, rep.Check.Read)
	}
	// -cleanup deleted them.
	for i := range 4 {
		_, err := api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String(userName(prefix, i))})
		var gone *ciptypes.UserNotFoundException
		if !errors.As(err, &gone) {
			t.Errorf("user %d after -cleanup: %v, want UserNotFoundException", i, err)
		}
	}
}
