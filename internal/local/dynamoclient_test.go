package local_test

import (
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	miniserver "github.com/truora/minidyn/server"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/local"
)

func TestNewDynamoDBClient(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	srv := httptest.NewServer(miniserver.NewServer())
	defer srv.Close()

	client, err := local.NewDynamoDBClient(t.Context(), srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := client.Options().Region; got != "us-east-1" {
		t.Errorf("region = %q, want us-east-1 for a local endpoint", got)
	}
	creds, err := client.Options().Credentials.Retrieve(t.Context())
	if err != nil || creds.AccessKeyID != "local" {
		t.Errorf("credentials = %q, %v; want the static local ones", creds.AccessKeyID, err)
	}
	tables := dynamo.Tables{Connections: "connections", Mailbox: "mailbox"}
	if err := dynamo.CreateTables(t.Context(), client, tables); err != nil {
		t.Fatal(err)
	}
	store := dynamo.New(client, tables, dynamo.Options{})
	c := domain.Connection{ID: "x=", PlayerID: "alice", ConnectedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := store.PutConnection(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if conns, err := store.PlayerConnections(t.Context(), "alice"); err != nil || len(conns) != 1 {
		t.Errorf("PlayerConnections = %v, %v", conns, err)
	}

	client, err = local.NewDynamoDBClient(t.Context(), srv.URL, "eu-west-3")
	if err != nil || client.Options().Region != "eu-west-3" {
		t.Errorf("NewClient with a region: %v", err)
	}
}
