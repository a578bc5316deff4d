package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// localRegion is the region used with an explicit endpoint when none is
// configured; local engines accept any.
const localRegion = "us-east-1"

// NewClient returns an SDK client. With endpoint "" it resolves region,
// endpoint and credentials the AWS default way (region "" leaves the region
// to that resolution too). With an endpoint, for a local engine, it uses
// region us-east-1 when none is found and the static credentials local/local
// when the environment holds no AWS keys. opts (such as
// awsclients.LoadOptions, the deadline policy) are applied first.
func NewClient(ctx context.Context, endpoint, region string, opts ...func(*config.LoadOptions) error) (*dynamodb.Client, error) {
	opts = append([]func(*config.LoadOptions) error(nil), opts...)
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if endpoint != "" {
		env, err := config.NewEnvConfig()
		if err != nil {
			return nil, fmt.Errorf("dynamodb client: read the environment: %w", err)
		}
		if !env.Credentials.HasKeys() {
			opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("dynamodb client: load AWS config: %w", err)
	}
	if endpoint == "" {
		return dynamodb.NewFromConfig(cfg), nil
	}
	if cfg.Region == "" {
		cfg.Region = localRegion
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}), nil
}

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
