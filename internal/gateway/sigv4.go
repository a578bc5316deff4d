package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
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
// configured region, dated within 15 minutes of now. It recomputes the
// signature from the canonical request, as the SDKs and the CLI build it.
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
	amzDate := r.Header.Get("X-Amz-Date")
	signedAt, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return fmt.Errorf("%w: bad or missing X-Amz-Date", errSignature)
	}
	if auth.date != amzDate[:8] {
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

	canonical := canonicalRequest(r, auth.signedHeaders, payloadHash)
	if !hmac.Equal(sigV4Signature(secret, auth.date, auth.region, auth.service, amzDate, canonical), auth.signature) {
		return fmt.Errorf("%w: signature does not match", errSignature)
	}
	return nil
}

// sigV4Signature signs a canonical request: the string to sign is made of
// the algorithm, the request's X-Amz-Date, the credential scope and the
// canonical request's hash, and the key is derived from the secret, the
// scope's date, region and service.
func sigV4Signature(secret, date, region, service, amzDate, canonical string) []byte {
	scope := strings.Join([]string{date, region, service, sigV4Terminator}, "/")
	hashed := sha256.Sum256([]byte(canonical))
	stringToSign := strings.Join([]string{sigV4Algorithm, amzDate, scope, hex.EncodeToString(hashed[:])}, "\n")
	key := hmacSHA256([]byte("AWS4"+secret), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, sigV4Terminator)
	return hmacSHA256(key, stringToSign)
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

// canonicalRequest builds SigV4's canonical request. The canonical URI is the
// path as sent, URI-encoded once more (all services but S3 encode twice, so
// an id's "=" sent as %3D appears as %253D).
func canonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uriEncode(path, false))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalHeaderValue returns a header's values trimmed, inner runs of
// spaces collapsed, joined by commas.
func canonicalHeaderValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	case "content-length":
		values = r.Header.Values("Content-Length")
		if len(values) == 0 && r.ContentLength > 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		values = r.Header.Values(name)
	}
	for i, v := range values {
		values[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(values, ",")
}

// canonicalQuery sorts the query's parameters by name, then value, each
// URI-encoded.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type pair struct{ k, v string }
	var pairs []pair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		pairs = append(pairs, pair{uriEncode(k, true), uriEncode(v, true)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	encoded := make([]string, len(pairs))
	for i, p := range pairs {
		encoded[i] = p.k + "=" + p.v
	}
	return strings.Join(encoded, "&")
}

// uriEncode percent-encodes every byte but the unreserved characters
// A-Z a-z 0-9 - _ . ~ (and '/', unless encodeSlash).
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0x0f])
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
