package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// tableActiveTimeout bounds how long CreateTable waits for ACTIVE.
const tableActiveTimeout = 2 * time.Minute

// CreateTable creates the rate limit table (hash key "key", a string;
// on-demand billing) unless it exists, and waits until it is ACTIVE. It is
// idempotent. Time to live on "expiresAt" is switched on by the deployment
// template; the limiter is correct without it (see the package comment).
func CreateTable(ctx context.Context, api TableAPI, table string) error {
	_, err := api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", table, err)
	}

	// The SDK's waiter, polling from 20 ms up to every 2 s; minidyn reports
	// no status at all: its tables are ready at once.
	w := dynamodb.NewTableExistsWaiter(api, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 2*time.Second
		active := o.Retryable
		o.Retryable = func(ctx context.Context, in *dynamodb.DescribeTableInput, out *dynamodb.DescribeTableOutput, err error) (bool, error) {
			if err == nil && out.Table != nil && out.Table.TableStatus == "" {
				return false, nil
			}
			return active(ctx, in, out, err)
		}
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, tableActiveTimeout); err != nil {
		return fmt.Errorf("wait for table %s to be active: %w", table, err)
	}
	return nil
}
