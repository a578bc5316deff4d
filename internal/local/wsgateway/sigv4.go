package wsgateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigV4 constants of the Management API.
const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	sigV4Service    = "execute-api"
	sigV4Terminator = "aws4_request"
	amzDateLayout   = "20060102T150405Z"
	maxClockSkew    = 15 * time.Minute
)

// errSignature is wrapped by every reason a request's signature is refused.
var errSignature = errors.New("signature refused")

// sigV4Auth is the parsed Authorization header.
type sigV4Auth struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          []byte
}

// verifySigV4 checks that r, whose body is body, carries an AWS Signature
// Version 4 made with the configured credentials for execute-api in the
// configured region, dated within 15 minutes of now, with the host and the
// date among the signed headers. The signature is recomputed by the AWS
// SDK's own signer over the headers the client signed.
func verifySigV4(r *http.Request, body []byte, accessKeyID, secret, region string, now time.Time) error {
	auth, err := parseSigV4Authorization(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(auth.accessKeyID), []byte(accessKeyID)) != 1 {
		return fmt.Errorf("%w: unknown access key", errSignature)
	}
	if auth.region != region || auth.service != sigV4Service {
		return fmt.Errorf("%w: credential scope %s/%s, want %s/%s", errSignature, auth.region, auth.service, region, sigV4Service)
	}
	signedAt, err := time.Parse(amzDateLayout, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("%w: bad or missing X-Amz-Date", errSignature)
	}
	if auth.date != signedAt.Format("20060102") {
		return fmt.Errorf("%w: credential date %s differs from X-Amz-Date", errSignature, auth.date)
	}
	if skew := now.Sub(signedAt); skew > maxClockSkew || skew < -maxClockSkew {
		return fmt.Errorf("%w: X-Amz-Date is %s away from now", errSignature, skew.Round(time.Second))
	}
	if !slices.Contains(auth.signedHeaders, "host") || !slices.Contains(auth.signedHeaders, "x-amz-date") {
		return fmt.Errorf("%w: host and x-amz-date must be signed", errSignature)
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if declared := r.Header.Get("X-Amz-Content-Sha256"); declared != "" && declared != payloadHash {
		return fmt.Errorf("%w: X-Amz-Content-Sha256 does not match the body", errSignature)
	}
	want, err := resign(r, auth.signedHeaders, payloadHash, aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret}, region, sigV4Service, signedAt)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, auth.signature) {
		return fmt.Errorf("%w: signature does not match", errSignature)
	}
	return nil
}

// resign signs a copy of r that holds only the headers named in
// signedHeaders, with the AWS SDK's signer, and returns the signature. The
// signer signs every header the copy holds, so the two agree on what is
// signed exactly when the signer's list equals the client's.
func resign(r *http.Request, signedHeaders []string, payloadHash string, creds aws.Credentials, region, service string, at time.Time) ([]byte, error) {
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	c := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, name := range signedHeaders {
		switch name {
		case "host":
		case "content-length":
			// The signer signs the length of a request with a body.
			c.ContentLength = r.ContentLength
			if n, err := strconv.ParseInt(r.Header.Get("Content-Length"), 10, 64); err == nil {
				c.ContentLength = n
			}
		default:
			c.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, c, payloadHash, service, region, at); err != nil {
		return nil, fmt.Errorf("%w: %w", errSignature, err)
	}
	ours, err := parseSigV4Authorization(c.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	if !slices.Equal(ours.signedHeaders, signedHeaders) {
		return nil, fmt.Errorf("%w: signed headers %s cannot be reproduced (got %s)", errSignature,
			strings.Join(signedHeaders, ";"), strings.Join(ours.signedHeaders, ";"))
	}
	return ours.signature, nil
}

// parseSigV4Authorization parses
// "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex".
func parseSigV4Authorization(h string) (sigV4Auth, error) {
	var a sigV4Auth
	rest, ok := strings.CutPrefix(h, sigV4Algorithm+" ")
	if !ok {
		return a, fmt.Errorf("%w: not signed with %s", errSignature, sigV4Algorithm)
	}
	var credential, signedHeaders, signature string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			signedHeaders = v
		case "Signature":
			signature = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != sigV4Terminator {
		return a, fmt.Errorf("%w: malformed credential", errSignature)
	}
	a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	if signedHeaders == "" {
		return a, fmt.Errorf("%w: no signed headers", errSignature)
	}
	a.signedHeaders = strings.Split(signedHeaders, ";")
	if !slices.IsSorted(a.signedHeaders) {
		return a, fmt.Errorf("%w: signed headers not sorted", errSignature)
	}
	sig, err := hex.DecodeString(signature)
	if err != nil || len(sig) != sha256.Size {
		return a, fmt.Errorf("%w: malformed signature", errSignature)
	}
	a.signature = sig
	return a, nil
}
