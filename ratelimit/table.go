package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// TableAPI is the part of the DynamoDB client EnsureTable uses: it creates
// the table, and the SDK's table-exists waiter describes it.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	dynamodb.DescribeTableAPIClient
}

var _ TableAPI = (*dynamodb.Client)(nil)

// tableActiveTimeout bounds how long EnsureTable waits for ACTIVE.
const tableActiveTimeout = 2 * time.Minute

// CreateTable creates the rate limit table (hash key "key", a string;
// on-demand billing) unless it exists, and waits until it is ACTIVE. It is
// idempotent. Time to live on "expiresAt" is switched on by the deployment
// template; the limiter is correct without it (see the package comment).
func CreateTable(ctx context.Context, api TableAPI, table string) error {
	return EnsureTable(ctx, api, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
}

// EnsureTable creates the table in describes unless a table of that name
// exists (which is left as it is), then waits with the SDK's table-exists
// waiter until it is ACTIVE, polling from 20 ms up to every second. An
// engine that reports no status (minidyn) has nothing to wait for. It
// serves any table: CreateTable uses it, and so do the other adapters that
// create their tables for local engines.
func EnsureTable(ctx context.Context, api TableAPI, in *dynamodb.CreateTableInput) error {
	name := aws.ToString(in.TableName)
	_, err := api.CreateTable(ctx, in)
	var apiErr smithy.APIError // the typed ResourceInUseException is one too
	if err != nil && !(errors.As(err, &apiErr) && apiErr.ErrorCode() == "ResourceInUseException") {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(api, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, time.Second
		active := o.Retryable
		o.Retryable = func(ctx context.Context, in *dynamodb.DescribeTableInput, out *dynamodb.DescribeTableOutput, err error) (bool, error) {
			if err == nil && (out.Table == nil || out.Table.TableStatus == "") {
				return false, nil
			}
			return active(ctx, in, out, err)
		}
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, tableActiveTimeout); err != nil {
		return fmt.Errorf("wait for table %s to be active: %w", name, err)
	}
	return nil
}
