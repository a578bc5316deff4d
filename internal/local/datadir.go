package local

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// What a data directory (Options.DataDir) holds.
const (
	signingKeyFile = "dev-signing-key.pem" // the development issuer's key
	tablesFile     = "tables.json"         // the embedded engine's items
)

// keptTables are the tables a data directory keeps across a restart.
// Connection rows are not among them: a restart closes every connection.
var keptTables = []string{MailboxTable, BansTable, RateLimitTable}

// signingKey reads the development issuer's key from dir, or makes one and
// writes it there (0600) when there is none.
func signingKey(dir string) (*rsa.PrivateKey, error) {
	path := filepath.Join(dir, signingKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
		return key, nil
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s does not hold an RSA key", path)
	}
	return key, nil
}

// item is a stored item: attribute name to {"S": …} or {"N": …}, the only
// types the tables use.
type item map[string]map[string]string

// loadTables puts the items saved in dir into the engine's tables, which
// exist and are empty.
func loadTables(ctx context.Context, api DynamoDB, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, tablesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var saved map[string][]item
	if err := json.Unmarshal(b, &saved); err != nil {
		return fmt.Errorf("%s: %w", tablesFile, err)
	}
	for _, table := range keptTables {
		for _, it := range saved[table] {
			av := map[string]types.AttributeValue{}
			for name, v := range it {
				switch {
				case len(v) == 1 && v["S"] != "":
					av[name] = &types.AttributeValueMemberS{Value: v["S"]}
				case len(v) == 1 && v["N"] != "":
					av[name] = &types.AttributeValueMemberN{Value: v["N"]}
				default:
					return fmt.Errorf("%s: %s.%s is neither a string nor a number", tablesFile, table, name)
				}
			}
			if _, err := api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: av}); err != nil {
				return fmt.Errorf("load %s: %w", table, err)
			}
		}
	}
	return nil
}

// saveTables writes the items of the kept tables to dir, replacing what
// was there only once the whole file is written.
func saveTables(ctx context.Context, api DynamoDB, dir string) error {
	saved := map[string][]item{}
	for _, table := range keptTables {
		saved[table] = []item{}
		p := dynamodb.NewScanPaginator(api, &dynamodb.ScanInput{TableName: aws.String(table)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("save %s: %w", table, err)
			}
			for _, av := range page.Items {
				it := item{}
				for name, v := range av {
					switch v := v.(type) {
					case *types.AttributeValueMemberS:
						it[name] = map[string]string{"S": v.Value}
					case *types.AttributeValueMemberN:
						it[name] = map[string]string{"N": v.Value}
					default:
						return fmt.Errorf("save %s: %s is neither a string nor a number", table, name)
					}
				}
				saved[table] = append(saved[table], it)
			}
		}
	}
	b, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, tablesFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone once renamed
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, tablesFile))
}
