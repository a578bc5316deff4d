package ratelimit

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableInput is the definition of the rate limit table named table: hash
// key "key", a string; on-demand billing. Whoever sets up tables for a local
// engine creates it from this (internal/dynamo.EnsureTable does, waiting
// until it is ACTIVE); in AWS the deployment template declares the same.
// Time to live on "expiresAt" is switched on by the template; the limiter
// is correct without it (see the package comment).
func TableInput(table string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}
}
