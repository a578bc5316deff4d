package dynamo

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

// EnsureTable creates the table in describes unless a table of that name
// exists (which is left as it is), then waits with the SDK's table-exists
// waiter until it is ACTIVE, polling from 20 ms up to every second. An
// engine that reports no status (minidyn) has nothing to wait for. It is
// idempotent, and serves any table: CreateTables uses it, and the local
// stack makes the rate limiter's table with it (ratelimit.TableInput).
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

// CreateTables creates those of tables that do not exist, billed per
// request, and waits until each is ACTIVE (EnsureTable). Tables
// that exist are left as they are. The bans table, keyed by player alone, is
// made only when named. It does not enable TTL; see the package
// documentation.
func CreateTables(ctx context.Context, api TableAPI, tables Tables) error {
	type spec struct {
		name, sortKey string // sortKey "" for a table keyed by player alone
		sortType      types.ScalarAttributeType
		role          string
	}
	specs := []spec{
		{tables.Connections, attrSlot, types.ScalarAttributeTypeN, "connections"},
		{tables.Mailbox, attrMessageID, types.ScalarAttributeTypeS, "mailbox"},
	}
	if tables.Bans != "" {
		specs = append(specs, spec{name: tables.Bans, role: "bans"})
	}
	for _, sp := range specs {
		if sp.name == "" {
			return fmt.Errorf("create tables: the %s table has no name", sp.role)
		}
	}
	for _, sp := range specs {
		in := &dynamodb.CreateTableInput{
			TableName:   aws.String(sp.name),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(attrPlayerID), AttributeType: types.ScalarAttributeTypeS},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrPlayerID), KeyType: types.KeyTypeHash},
			},
		}
		if sp.sortKey != "" {
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(sp.sortKey), AttributeType: sp.sortType})
			in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(sp.sortKey), KeyType: types.KeyTypeRange})
		}
		if err := EnsureTable(ctx, api, in); err != nil {
			return fmt.Errorf("create tables: %s: %w", sp.role, err)
		}
	}
	return nil
}
