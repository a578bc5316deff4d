package wsgateway

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/testenv"
)

// TestManagementAPIWithCLI drives the Management API with the AWS CLI, whose
// signer (botocore) is independent of the Go SDK's: post, get and delete a
// connection whose id ends in '='.
func TestManagementAPIWithCLI(t *testing.T) {
	aws, err := exec.LookPath("aws")
	if err != nil {
		testenv.Missing(t, "the AWS CLI (aws) is not on PATH; .ci/run installs it")
	}
	h := newHarness(t, nil)
	ws := h.dial("alice", nil)
	id := h.lastConnectionID()
	if !strings.HasSuffix(id, "=") {
		t.Fatalf("connection id %q does not end in '='", id)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data.json")
	if err := os.WriteFile(data, []byte(`{"hi":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(secret string, args ...string) (string, error) {
		cmd := exec.Command(aws, append([]string{"apigatewaymanagementapi", "--endpoint-url", h.srv.URL,
			"--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
			"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=" + secret,
			"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
			"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// fileb:// sends the bytes as they are with CLI v1 and v2 alike.
	if out, err := cli("local", "post-to-connection", "--connection-id="+id, "--data", "fileb://"+data); err != nil {
		t.Fatalf("post-to-connection: %v\n%s", err, out)
	}
	if got := receive(t, ws); got != `{"hi":1}` {
		t.Errorf("client got %q", got)
	}
	out, err := cli("local", "get-connection", "--connection-id="+id)
	if err != nil {
		t.Fatalf("get-connection: %v\n%s", err, out)
	}
	var info struct {
		Identity struct {
			SourceIP string `json:"SourceIp"`
		}
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.Identity.SourceIP != "127.0.0.1" {
		t.Errorf("get-connection answered %s (%v)", out, err)
	}
	if out, err := cli("local", "delete-connection", "--connection-id="+id); err != nil {
		t.Fatalf("delete-connection: %v\n%s", err, out)
	}
	h.waitDisconnect()
	if out, err := cli("local", "get-connection", "--connection-id="+id); err == nil || !strings.Contains(out, "GoneException") {
		t.Errorf("get-connection after delete: %v\n%s", err, out)
	}
	// A wrong secret is refused by the gateway, not by the CLI.
	if out, err := cli("guess", "get-connection", "--connection-id="+id); err == nil || !strings.Contains(out, "Forbidden") {
		t.Errorf("a wrong secret: %v\n%s", err, out)
	}
}
