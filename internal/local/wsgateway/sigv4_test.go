package wsgateway

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestSigV4KnownSignatures checks the re-signing against the AWS Signature
// Version 4 test suite (get-vanilla and get-vanilla-query-order-key-case).
func TestSigV4KnownSignatures(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	emptyHash := hex.EncodeToString(sha256.New().Sum(nil))
	signedAt := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	tests := []struct {
		name, url, signature string
	}{
		{"get-vanilla", "http://example.amazonaws.com/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-query-order-key-case", "http://example.amazonaws.com/?Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, tt.url, nil)
		r.Header.Set("X-Amz-Date", "20150830T123600Z")
		sig, err := resign(r, []string{"host", "x-amz-date"}, emptyHash, creds, "us-east-1", "service", signedAt)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := hex.EncodeToString(sig); got != tt.signature {
			t.Errorf("%s: signature %s, want %s", tt.name, got, tt.signature)
		}
	}
}

// TestVerifySigV4 signs requests with the AWS SDK's signer, sends them over
// HTTP and verifies them as the gateway does.
func TestVerifySigV4(t *testing.T) {
	const region, key, secret = "us-east-1", "AKIDLOCAL", "s3cr3t"
	verified := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verified <- verifySigV4(r, body, key, secret, region, time.Now())
	}))
	defer srv.Close()

	type request struct {
		method, path, body string
		header             http.Header
	}
	post := request{method: http.MethodPost, path: "/@connections/L0SM9cOFvHcCIhw%3D", body: `{"type":"message"}`}
	tests := []struct {
		name     string
		req      request
		service  string        // default execute-api
		region   string        // default us-east-1
		secret   string        // default the right one
		age      time.Duration // how long ago it was signed
		tamper   func(*http.Request)
		accepted bool
	}{
		{name: "post, id escaped as %3D", req: post, accepted: true},
		{name: "post, id with a raw =", req: request{method: http.MethodPost, path: "/@connections/L0SM9cOFvHcCIhw=", body: "x"}, accepted: true},
		{name: "escaped @ and -_ in the id", req: request{method: http.MethodGet, path: "/%40connections/a-b_c%3D"}, accepted: true},
		{name: "delete without body", req: request{method: http.MethodDelete, path: "/@connections/abc%3D"}, accepted: true},
		{name: "query with repeats, spaces and pluses", req: request{method: http.MethodGet, path: "/@connections/a?b=2&a=1&a=0&sp=%20x&plus=a+b&empty="}, accepted: true},
		{name: "signed custom headers with runs of spaces and repeats", req: request{method: http.MethodPost, path: "/@connections/a", body: "x",
			header: http.Header{"X-Custom": {"  a   b  "}, "X-Multi": {"1", "2"}}}, accepted: true},
		{name: "signed 14 minutes ago", req: post, age: 14 * time.Minute, accepted: true},
		{name: "signed 16 minutes ago", req: post, age: 16 * time.Minute},
		{name: "signed 16 minutes ahead", req: post, age: -16 * time.Minute},
		{name: "wrong secret", req: post, secret: "guess"},
		{name: "another service", req: post, service: "s3"},
		{name: "another region", req: post, region: "eu-west-1"},
		{name: "body changed", req: post, tamper: func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"type":"messagf"}`))
		}},
		{name: "path changed", req: post, tamper: func(r *http.Request) { r.URL.RawPath, r.URL.Path = "", "/@connections/other" }},
		{name: "signed header changed", req: request{method: http.MethodPost, path: "/@connections/a", body: "x",
			header: http.Header{"X-Custom": {"a"}}}, tamper: func(r *http.Request) { r.Header.Set("X-Custom", "b") }},
		{name: "query changed", req: request{method: http.MethodGet, path: "/@connections/a?x=1"}, tamper: func(r *http.Request) { r.URL.RawQuery = "x=2" }},
		{name: "content hash header lies", req: post, tamper: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
		}},
		{name: "no authorization", req: post, tamper: func(r *http.Request) { r.Header.Del("Authorization") }},
		{name: "no date", req: post, tamper: func(r *http.Request) { r.Header.Del("X-Amz-Date") }},
		{name: "other algorithm", req: post, tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), sigV4Algorithm, "AWS4-HMAC-SHA512", 1))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.req.method, srv.URL+tt.req.path, strings.NewReader(tt.req.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tt.req.header {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			sum := sha256.Sum256([]byte(tt.req.body))
			creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: cmp.Or(tt.secret, secret)}
			// A signer per request: the SDK's signer caches derived keys
			// by access key, which would hide a wrong secret.
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]),
				cmp.Or(tt.service, "execute-api"), cmp.Or(tt.region, region), time.Now().Add(-tt.age)); err != nil {
				t.Fatal(err)
			}
			if tt.tamper != nil {
				tt.tamper(req)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			err = <-verified
			if (err == nil) != tt.accepted {
				t.Errorf("verify = %v, want accepted=%v", err, tt.accepted)
			}
			if err != nil && !errors.Is(err, errSignature) {
				t.Errorf("error %v does not wrap errSignature", err)
			}
		})
	}
}

// TestVerifySigV4RequiresSignedDate presents a request whose signed
// headers leave X-Amz-Date out: it could be replayed at any time.
func TestVerifySigV4RequiresSignedDate(t *testing.T) {
	now := time.Now().UTC()
	r := httptest.NewRequest(http.MethodDelete, "http://127.0.0.1:8080/@connections/abc%3D", nil)
	emptyHash := hex.EncodeToString(sha256.New().Sum(nil))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"},
		r, emptyHash, "execute-api", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	if err := verifySigV4(r, nil, "local", "local", "us-east-1", now); err != nil {
		t.Fatalf("the signed request is refused: %v", err)
	}
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=host;x-amz-date", "SignedHeaders=host", 1))
	err := verifySigV4(r, nil, "local", "local", "us-east-1", now)
	if err == nil || !strings.Contains(err.Error(), "x-amz-date must be signed") {
		t.Errorf("a request without a signed date: %v, want refused for the date", err)
	}
}

// TestVerifySigV4UnreproducibleHeaders presents a signature over a header
// the SDK's signer never signs (User-Agent): it is refused, whatever the
// signature, because the gateway cannot recompute it.
func TestVerifySigV4UnreproducibleHeaders(t *testing.T) {
	now := time.Now().UTC()
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/@connections/abc%3D", nil)
	r.Header.Set("User-Agent", "x")
	r.Header.Set("X-Amz-Date", now.Format(amzDateLayout))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=local/"+now.Format("20060102")+"/us-east-1/execute-api/aws4_request, SignedHeaders=host;user-agent;x-amz-date, Signature="+strings.Repeat("ab", 32))
	err := verifySigV4(r, nil, "local", "local", "us-east-1", now)
	if err == nil || !errors.Is(err, errSignature) || !strings.Contains(err.Error(), "cannot be reproduced") {
		t.Errorf("verify = %v, want refused as unreproducible", err)
	}
}
