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
// they are. It does not enable TTL; see the package documentation.
func CreateTables(ctx context.Context, api API, tables Tables) error {
	specs := []struct {
		name      string
		sortKey   string
		sortType  types.ScalarAttributeType
		tableRole string
	}{
		{tables.Connections, attrSlot, types.ScalarAttributeTypeN, "connections"},
		{tables.Mailbox, attrMessageID, types.ScalarAttributeTypeS, "mailbox"},
	}
	for _, sp := range specs {
		if sp.name == "" {
			return fmt.Errorf("create tables: the %s table has no name", sp.tableRole)
		}
	}
	for _, sp := range specs {
		_, err := api.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:   aws.String(sp.name),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(attrPlayerID), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String(sp.sortKey), AttributeType: sp.sortType},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrPlayerID), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(sp.sortKey), KeyType: types.KeyTypeRange},
			},
		})
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

// tableExists reports whether err says the table is already there.
func tableExists(err error) bool {
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ResourceInUseException"
}

// waitActive polls the table until it is ACTIVE or ctx ends.
func waitActive(ctx context.Context, api API, name string) error {
	delay := 20 * time.Millisecond
	for {
		out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("describe: %w", err)
		}
		// An engine that reports no status has nothing to wait for.
		if out.Table == nil || out.Table.TableStatus == types.TableStatusActive || out.Table.TableStatus == "" {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait until active: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}
