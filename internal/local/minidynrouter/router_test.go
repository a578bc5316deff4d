package minidynrouter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	miniclient "github.com/truora/minidyn/aws-v2/client"
)

const tbl = "t"

// api is what the tests call on both the router and plain minidyn.
type api interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

func create(t *testing.T, c api) {
	t.Helper()
	_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:   aws.String(tbl),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("p"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("s"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("p"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("s"), KeyType: types.KeyTypeRange},
		},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
}

// key is the key of the item of partition p with sort key s.
func key(p string, s int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"p": &types.AttributeValueMemberS{Value: p},
		"s": &types.AttributeValueMemberN{Value: fmt.Sprint(s)},
	}
}

func put(t *testing.T, c api, p string, s int) {
	t.Helper()
	if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: key(p, s)}); err != nil {
		t.Fatalf("PutItem %s/%d: %v", p, s, err)
	}
}

func query(t *testing.T, c api, expr, p string) (*dynamodb.QueryOutput, error) {
	t.Helper()
	return c.Query(context.Background(), &dynamodb.QueryInput{
		TableName:                 aws.String(tbl),
		KeyConditionExpression:    aws.String(expr),
		ExpressionAttributeNames:  map[string]string{"#p": "p"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: p}},
	})
}

// A Query visits the items of its partition, however many other partitions
// the table holds.
func TestQueryWorkIndependentOfTableSize(t *testing.T) {
	r := New()
	r.CountVisits()
	create(t, r)
	for s := range 3 {
		put(t, r, "alice", s)
	}
	visits := func() int64 {
		before := r.ItemsVisited()
		out, err := query(t, r, "#p = :p", "alice")
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		if out.Count != 3 {
			t.Fatalf("Query found %d items, want 3", out.Count)
		}
		return r.ItemsVisited() - before
	}
	small := visits()
	for i := range 2000 {
		put(t, r, fmt.Sprintf("player-%d", i), 1)
	}
	large := visits()
	if small != 3 || large != 3 {
		t.Fatalf("items visited: %d with 1 partition, %d with 2001; want 3 and 3", small, large)
	}
	if n := r.Partitions(tbl); n != 2001 {
		t.Fatalf("partitions = %d, want 2001", n)
	}
}

// Every key condition form DynamoDB allows for the partition key finds it;
// results match plain minidyn's.
func TestQueryKeyConditionForms(t *testing.T) {
	r, plain := New(), miniclient.NewClient()
	for _, c := range []api{r, plain} {
		create(t, c)
		for s := range 4 {
			put(t, c, "alice", s)
			put(t, c, "bob", s)
		}
	}
	n1 := &types.AttributeValueMemberN{Value: "1"}
	n3 := &types.AttributeValueMemberN{Value: "3"}
	for _, tc := range []struct {
		expr  string
		names bool
		extra map[string]types.AttributeValue
	}{
		{"#p = :p", true, nil},
		{":p = #p", true, nil},
		{"p = :p", false, nil},
		{"(#p = :p)", true, nil},
		{"#p=:p AND s > :s", true, map[string]types.AttributeValue{":s": n1}},
		{"#p = :p and s BETWEEN :s AND :t", true, map[string]types.AttributeValue{":s": n1, ":t": n3}},
		{"(#p = :p) AND (s < :t)", true, map[string]types.AttributeValue{":t": n3}},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			in := func() *dynamodb.QueryInput {
				in := &dynamodb.QueryInput{
					TableName:                 aws.String(tbl),
					KeyConditionExpression:    aws.String(tc.expr),
					ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "alice"}},
				}
				if tc.names {
					in.ExpressionAttributeNames = map[string]string{"#p": "p"}
				}
				maps.Copy(in.ExpressionAttributeValues, tc.extra)
				return in
			}
			want, werr := plain.Query(context.Background(), in())
			got, gerr := r.Query(context.Background(), in())
			if werr != nil || gerr != nil {
				t.Fatalf("minidyn: %v, router: %v", werr, gerr)
			}
			if got.Count != want.Count || got.Count == 0 {
				t.Fatalf("router found %d items, minidyn %d", got.Count, want.Count)
			}
		})
	}
}

// Requests that name no partition are refused as minidyn refuses them, and
// a Query the router cannot place is refused, never answered empty.
func TestRequestsWithoutPartition(t *testing.T) {
	ctx := context.Background()
	r := New()
	create(t, r)
	put(t, r, "alice", 1)

	var notFound *types.ResourceNotFoundException
	if _, err := r.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: key("alice", 1)}); !errors.As(err, &notFound) {
		t.Errorf("GetItem on an unknown table: %v, want ResourceNotFoundException", err)
	}
	if _, err := r.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tbl), Key: map[string]types.AttributeValue{
		"s": &types.AttributeValueMemberN{Value: "1"}}}); err == nil {
		t.Error("GetItem without the partition key succeeded")
	}
	if _, err := query(t, r, "#p = :p", "alice"); err != nil {
		t.Fatalf("Query: %v", err)
	}
	var api smithy.APIError
	if _, err := query(t, r, "#p > :p", "alice"); !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
		t.Errorf("Query without partition equality: %v, want a ValidationException", err)
	}
	if _, err := r.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(tbl)}); err == nil {
		t.Error("a second CreateTable of the table succeeded")
	}
}

// Reads of an empty partition create nothing; numbers that are equal name
// one partition.
func TestPartitions(t *testing.T) {
	ctx := context.Background()
	r := New()
	create(t, r)
	out, err := r.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tbl), Key: key("ghost", 1)})
	if err != nil || len(out.Item) != 0 {
		t.Fatalf("GetItem of an empty partition: %v, %v", out, err)
	}
	if _, err := query(t, r, "#p = :p", "ghost"); err != nil {
		t.Fatalf("Query of an empty partition: %v", err)
	}
	if n := r.Partitions(tbl); n != 0 {
		t.Fatalf("reads created %d partitions", n)
	}
	one, _ := partitionID(&types.AttributeValueMemberN{Value: "1"})
	for _, v := range []string{"1", "1.0", "10E-1"} {
		if id, ok := partitionID(&types.AttributeValueMemberN{Value: v}); !ok || id != one {
			t.Errorf("partition of %s = %q, want %q", v, id, one)
		}
	}
	if id, _ := partitionID(&types.AttributeValueMemberS{Value: "1"}); id == one {
		t.Error("the string 1 and the number 1 share a partition")
	}
}

// Writes and Queries of one partition may run concurrently (run with -race:
// the count of visited items reads the table).
func TestConcurrentPartitionRequests(t *testing.T) {
	r := New()
	r.CountVisits()
	create(t, r)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				put(t, r, "alice", w*100+i)
				if _, err := query(t, r, "#p = :p", "alice"); err != nil {
					t.Errorf("Query: %v", err)
				}
			}
		})
	}
	wg.Wait()
	out, err := query(t, r, "#p = :p", "alice")
	if err != nil || out.Count != 200 {
		t.Fatalf("Query after the writes: %v items, %v; want 200", out.Count, err)
	}
}

// A Scan pages through every partition, each item once, whatever the page
// size: a page ends inside a partition as well as between two.
func TestScanPagesAcrossPartitions(t *testing.T) {
	r := New()
	create(t, r)
	want := map[string]bool{}
	for _, p := range []string{"alice", "bob", "carol", "dave", "erin"} {
		for s := range 3 {
			put(t, r, p, s)
			want[fmt.Sprintf("%s/%d", p, s)] = true
		}
	}
	for _, limit := range []int32{1, 2, 4, 15, 100} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			seen := map[string]int{}
			var start map[string]types.AttributeValue
			for pages := 1; ; pages++ {
				if pages > len(want)+2 {
					t.Fatalf("still paging after %d pages", pages)
				}
				out, err := r.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(tbl), Limit: aws.Int32(limit), ExclusiveStartKey: start})
				if err != nil {
					t.Fatalf("Scan page %d: %v", pages, err)
				}
				if len(out.Items) > int(limit) {
					t.Errorf("page %d holds %d items, over the limit %d", pages, len(out.Items), limit)
				}
				for _, item := range out.Items {
					p := item["p"].(*types.AttributeValueMemberS).Value
					s := item["s"].(*types.AttributeValueMemberN).Value
					seen[p+"/"+s]++
				}
				if start = out.LastEvaluatedKey; len(start) == 0 {
					break
				}
			}
			for k := range want {
				if seen[k] != 1 {
					t.Errorf("%s seen %d times, want once", k, seen[k])
				}
			}
			if len(seen) != len(want) {
				t.Errorf("scanned %d distinct items, want %d", len(seen), len(want))
			}
		})
	}
}
