// Package dynamotest opens the DynamoDB engines that the contract suites run
// on: minidyn in-process, minidyn's HTTP server reached through the real AWS
// SDK, minidyn with one instance per partition (the local stack's engine,
// package minidynrouter), and dynalite (an independent implementation, started by the test
// command, found through DYNALITE_ENDPOINT).
//
// Outside CI a missing dynalite skips its subtests with the reason; with
// CI=true it fails them, so CI never passes without running every engine.
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	miniclient "github.com/truora/minidyn/aws-v2/client"
	miniserver "github.com/truora/minidyn/server"

	"github.com/serverless-websockets/serverless-websockets/internal/local/minidynrouter"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/testenv"
)

// API is every DynamoDB operation the project's adapters use. Both
// *dynamodb.Client and minidyn's in-process client implement it; each adapter
// declares the narrower interface it needs.
type API interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var (
	_ API = (*dynamodb.Client)(nil)
	_ API = (*miniclient.Client)(nil)
	_ API = (*minidynrouter.Router)(nil)
)

// Creating reports every table as CREATING for its first Times
// descriptions, as DynamoDB and dynalite do for a new table, then describes
// it as API does. Described counts the descriptions; it is not safe for
// concurrent use.
type Creating struct {
	API
	Times, Described int
}

// DescribeTable reports CREATING Times times, then asks API.
func (c *Creating) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	c.Described++
	if c.Described <= c.Times {
		return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{TableName: in.TableName, TableStatus: types.TableStatusCreating}}, nil
	}
	return c.API.DescribeTable(ctx, in, opts...)
}

// Opener hands out clients of one engine instance. Every client of one
// Opener reaches the same data, as separate Lambda instances reach one
// table: call it again for a second, independent client.
type Opener func() API

// engines are the engines a suite runs on, each opened once per (sub)test,
// dynalite last.
var engines = []struct {
	name string
	open func(t testing.TB) Opener
}{
	{"minidyn", openMinidyn},
	{"minidyn-http", openMinidynHTTP},
	{"minidyn-router", openMinidynRouter},
	{"dynalite", openDynalite},
}

// Run runs f as a subtest, or a sub-benchmark, once per engine.
func Run[T interface {
	testing.TB
	Run(name string, f func(T)) bool
}](t T, f func(t T, open Opener)) {
	for _, e := range engines {
		t.Run(e.name, func(t T) { f(t, e.open(t)) })
	}
}

func openMinidyn(t testing.TB) Opener {
	c := miniclient.NewClient()
	return func() API { return c }
}

func openMinidynRouter(t testing.TB) Opener {
	r := minidynrouter.New()
	return func() API { return r }
}

func openMinidynHTTP(t testing.TB) Opener {
	srv := httptest.NewServer(miniserver.NewServer())
	t.Cleanup(srv.Close)
	return func() API { return NewClient(srv.URL) }
}

func openDynalite(t testing.TB) Opener {
	endpoint := testenv.Dynalite(t)
	return func() API { return NewClient(endpoint) }
}

// NewClient returns a real SDK client for a local engine at endpoint, with
// static credentials and region us-east-1.
func NewClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// TableName returns base with a random suffix, so that tests sharing one
// dynalite never see each other's tables.
func TableName(base string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return base + "-" + hex.EncodeToString(b[:])
}
