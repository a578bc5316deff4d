package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/serverless-websockets/serverless-websockets/ratelimit"
)

// CreateTables creates those of tables that do not exist, billed per
// request, and waits until each is ACTIVE (ratelimit.EnsureTable). Tables
// that exist are left as they are. The bans table, keyed by player alone, is
// made only when named. It does not enable TTL; see the package
// documentation.
func CreateTables(ctx context.Context, api ratelimit.TableAPI, tables Tables) error {
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
		if err := ratelimit.EnsureTable(ctx, api, in); err != nil {
			return fmt.Errorf("create tables: %s: %w", sp.role, err)
		}
	}
	return nil
}
