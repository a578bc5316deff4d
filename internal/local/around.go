package local

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Around runs every request of a DynamoDB client through Hook, which gets
// the request's context, operation name ("PutItem") and input, and call,
// which makes the request (Hook may make it more than once, or not at all).
// The stack counts requests and recreates lost tables with it; tests use it
// to stall or fail an engine.
type Around struct {
	DynamoDB // the client wrapped
	Hook     func(ctx context.Context, op string, in any, call func() error) error
}

var _ DynamoDB = (*Around)(nil)

// around makes one request of a through a.Hook.
func around[T any](ctx context.Context, a *Around, op string, in any, request func() (T, error)) (T, error) {
	var out T
	err := a.Hook(ctx, op, in, func() error {
		var err error
		out, err = request()
		return err
	})
	return out, err
}

func (a *Around) CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	return around(ctx, a, "CreateTable", in, func() (*dynamodb.CreateTableOutput, error) { return a.DynamoDB.CreateTable(ctx, in, opts...) })
}

func (a *Around) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return around(ctx, a, "DescribeTable", in, func() (*dynamodb.DescribeTableOutput, error) { return a.DynamoDB.DescribeTable(ctx, in, opts...) })
}

func (a *Around) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return around(ctx, a, "PutItem", in, func() (*dynamodb.PutItemOutput, error) { return a.DynamoDB.PutItem(ctx, in, opts...) })
}

func (a *Around) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return around(ctx, a, "GetItem", in, func() (*dynamodb.GetItemOutput, error) { return a.DynamoDB.GetItem(ctx, in, opts...) })
}

func (a *Around) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return around(ctx, a, "UpdateItem", in, func() (*dynamodb.UpdateItemOutput, error) { return a.DynamoDB.UpdateItem(ctx, in, opts...) })
}

func (a *Around) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return around(ctx, a, "DeleteItem", in, func() (*dynamodb.DeleteItemOutput, error) { return a.DynamoDB.DeleteItem(ctx, in, opts...) })
}

func (a *Around) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return around(ctx, a, "Query", in, func() (*dynamodb.QueryOutput, error) { return a.DynamoDB.Query(ctx, in, opts...) })
}

func (a *Around) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return around(ctx, a, "Scan", in, func() (*dynamodb.ScanOutput, error) { return a.DynamoDB.Scan(ctx, in, opts...) })
}
