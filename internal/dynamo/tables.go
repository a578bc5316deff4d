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

// CreateTables creates those of tables that do not exist, billed per
// request, and waits until both are ACTIVE. Tables that exist are left as
// they are. The bans table, keyed by player alone, is made only when named.
// It does not enable TTL; see the package documentation.
func CreateTables(ctx context.Context, api TableAPI, tables Tables) error {
	specs := []tableSpec{
		{tables.Connections, attrSlot, types.ScalarAttributeTypeN, "connections"},
		{tables.Mailbox, attrMessageID, types.ScalarAttributeTypeS, "mailbox"},
	}
	if tables.Bans != "" {
		specs = append(specs, tableSpec{tables.Bans, "", "", "bans"})
	}
	for _, sp := range specs {
		if sp.name == "" {
			return fmt.Errorf("create tables: the %s table has no name", sp.tableRole)
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
		_, err := api.CreateTable(ctx, in)
		if err != nil && !tableExists(err) {
			return fmt.Errorf("create %s table %s: %w", sp.tableRole, sp.name, err)
		}
	}
	for _, sp := range specs {
		if err := waitActive(ctx, api, sp.name); err != nil {
			return fmt.Errorf("create %s table %s: %w", sp.tableRole, sp.name, err)
		}
	}
	return nil
}

// tableSpec is one table to create: keyed by player, with an optional sort key.
type tableSpec struct {
	name      string
	sortKey   string // "" for a table keyed by player alone
	sortType  types.ScalarAttributeType
	tableRole string
}

// tableExists reports whether err says the table is already there.
func tableExists(err error) bool {
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ResourceInUseException"
}

// tableActiveTimeout bounds how long CreateTables waits for ACTIVE.
const tableActiveTimeout = 2 * time.Minute

// waitActive waits with the SDK's table-exists waiter until the table is
// ACTIVE, polling every 20 ms at first and at most every second. An engine
// that reports no status (minidyn) has nothing to wait for.
func waitActive(ctx context.Context, api TableAPI, name string) error {
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
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableActiveTimeout); err != nil {
		return fmt.Errorf("wait until active: %w", err)
	}
	return nil
}
