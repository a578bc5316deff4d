package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	miniclient "github.com/truora/minidyn/aws-v2/client"
	miniserver "github.com/truora/minidyn/server"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/dynamotest"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/fakeclock"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/storetest"
)

// newTables creates uniquely named tables on the engine behind open.
func newTables(t *testing.T, api dynamo.TableAPI) dynamo.Tables {
	t.Helper()
	tables := dynamo.Tables{
		Connections: dynamotest.TableName("connections"),
		Mailbox:     dynamotest.TableName("mailbox"),
		Bans:        dynamotest.TableName("bans"),
	}
	if err := dynamo.CreateTables(t.Context(), api, tables); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	return tables
}

func TestStore(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, open dynamotest.Opener) {
		storetest.Run(t, func(t *testing.T) storetest.Open {
			tables := newTables(t, open())
			return func(opts dynamo.Options) *dynamo.Store {
				return dynamo.New(open(), tables, opts)
			}
		})
	})
}

func TestCreateTablesIsIdempotent(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, open dynamotest.Opener) {
		api := open()
		tables := newTables(t, api)
		if err := dynamo.CreateTables(t.Context(), api, tables); err != nil {
			t.Fatalf("second CreateTables: %v", err)
		}
		for _, tc := range []struct {
			name, sortKey string
			sortType      types.ScalarAttributeType
		}{
			{tables.Connections, "slot", types.ScalarAttributeTypeN},
			{tables.Mailbox, "messageId", types.ScalarAttributeTypeS},
		} {
			out, err := api.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(tc.name)})
			if err != nil {
				t.Fatal(err)
			}
			keys := map[string]types.KeyType{}
			for _, k := range out.Table.KeySchema {
				keys[aws.ToString(k.AttributeName)] = k.KeyType
			}
			if keys["playerId"] != types.KeyTypeHash || keys[tc.sortKey] != types.KeyTypeRange || len(keys) != 2 {
				t.Errorf("%s key schema = %v", tc.name, keys)
			}
			for _, d := range out.Table.AttributeDefinitions {
				if aws.ToString(d.AttributeName) == tc.sortKey && d.AttributeType != tc.sortType {
					t.Errorf("%s: %s is %s, want %s", tc.name, tc.sortKey, d.AttributeType, tc.sortType)
				}
			}
		}
	})
	if err := dynamo.CreateTables(t.Context(), miniclient.NewClient(), dynamo.Tables{Connections: "c"}); err == nil {
		t.Error("CreateTables without a mailbox table name = nil error")
	}
}

// TestCreateTablesWaitsUntilActive: CreateTables polls a CREATING table
// until it is ACTIVE, and gives up when its context ends.
func TestCreateTablesWaitsUntilActive(t *testing.T) {
	api := &dynamotest.Creating{API: miniclient.NewClient(), Times: 2}
	tables := dynamo.Tables{Connections: "c", Mailbox: "m"}
	if err := dynamo.CreateTables(t.Context(), api, tables); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	if want := 2 + len([]string{tables.Connections, tables.Mailbox}); api.Described != want {
		t.Errorf("described %d times, want %d (two CREATING, then once per table)", api.Described, want)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	stuck := &dynamotest.Creating{API: miniclient.NewClient(), Times: 1 << 30}
	if err := dynamo.CreateTables(ctx, stuck, tables); err == nil || !strings.Contains(err.Error(), "to be active") {
		t.Errorf("CreateTables on a table that stays CREATING = %v, want a wait error", err)
	}
}

// onePerPage makes every Query return at most one item, so that every
// result spans pages.
type onePerPage struct {
	dynamo.API
	queries int
}

func (o *onePerPage) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	o.queries++
	in.Limit = aws.Int32(1)
	return o.API.Query(ctx, in, opts...)
}

// TestQueriesFollowPages: a query whose result spans pages reads them all.
func TestQueriesFollowPages(t *testing.T) {
	engine := miniclient.NewClient()
	paged := &onePerPage{API: engine}
	now := time.Now()
	store := dynamo.New(paged, newTables(t, engine), dynamo.Options{})
	for _, id := range []string{"a=", "b=", "c="} {
		if err := store.PutConnection(t.Context(), domain.Connection{ID: id, PlayerID: "alice", ConnectedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	paged.queries = 0
	conns, err := store.PlayerConnections(t.Context(), "alice")
	if err != nil || len(conns) != 3 {
		t.Fatalf("PlayerConnections = %v, %v; want 3 connections", conns, err)
	}
	if paged.queries < 3 {
		t.Errorf("%d queries for 3 one-item pages", paged.queries)
	}
}

// TestFailures checks that every method reports a failing DynamoDB as a
// wrapped error carrying its context.
func TestFailures(t *testing.T) {
	ctx := t.Context()
	api := miniclient.NewClient()
	clock := fakeclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := dynamo.New(api, newTables(t, api), dynamo.Options{Now: clock.Now})
	conn := domain.Connection{ID: "c=", PlayerID: "alice", ConnectedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}
	msg := domain.QueuedMessage{To: "alice", ID: "m1", From: "bob", Message: json.RawMessage(`1`), SentAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}
	// Rows to fail on, for the calls that find a row before writing.
	if err := store.PutConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if err := store.Enqueue(ctx, msg); err != nil {
		t.Fatal(err)
	}
	miniclient.EmulateFailure(api, miniclient.FailureConditionInternalServerError)

	tests := []struct {
		name    string
		context string // the start of the message
		call    func() error
	}{
		{"PutConnection", "put connection c2= of alice", func() error {
			c := conn
			c.ID = "c2="
			return store.PutConnection(ctx, c)
		}},
		{"DeleteConnection", "delete connection c=: query connections of alice", func() error { return store.DeleteConnection(ctx, "alice", "c=") }},
		{"PlayerConnections", "query connections of alice", func() error {
			_, err := store.PlayerConnections(ctx, "alice")
			return err
		}},
		{"OnlinePlayers", "online players", func() error {
			_, err := store.OnlinePlayers(ctx, []string{"alice", "bob"})
			return err
		}},
		{"Enqueue", "enqueue message m2 for alice", func() error {
			m := msg
			m.ID = "m2"
			return store.Enqueue(ctx, m)
		}},
		{"Inbox", "query mailbox of alice", func() error {
			_, err := store.Inbox(ctx, "alice", 10)
			return err
		}},
		{"DeleteQueued", "delete queued message m1 of alice", func() error { return store.DeleteQueued(ctx, "alice", "m1") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ise *types.InternalServerError
			if !errors.As(err, &ise) {
				t.Fatalf("error = %v, want a wrapped InternalServerError", err)
			}
			if !strings.HasPrefix(err.Error(), tt.context) {
				t.Errorf("error = %q, want it to start with %q", err, tt.context)
			}
			for _, sentinel := range []error{domain.ErrConnectionLimit, domain.ErrMailboxFull, domain.ErrNotFound} {
				if errors.Is(err, sentinel) {
					t.Errorf("error %v wraps %v", err, sentinel)
				}
			}
		})
	}
}

// hookAPI runs a function once, before the first call of one kind, to stage
// a race between a Store's read and its conditional write. With putTo set,
// only a PutItem into that partition runs the hook.
type hookAPI struct {
	dynamo.API
	mu           sync.Mutex
	beforePut    func()
	putTo        string
	beforeDelete func()
}

func (h *hookAPI) take(f *func()) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := *f
	*f = nil
	return g
}

func (h *hookAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	h.mu.Lock()
	mine := h.putTo == "" || putsTo(in, h.putTo)
	h.mu.Unlock()
	if mine {
		if f := h.take(&h.beforePut); f != nil {
			f()
		}
	}
	return h.API.PutItem(ctx, in, opts...)
}

func (h *hookAPI) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if f := h.take(&h.beforeDelete); f != nil {
		f()
	}
	return h.API.DeleteItem(ctx, in, opts...)
}

// TestRaces stages, on every engine, the races the conditional writes
// guard against, each between a Store's read and its write.
func TestRaces(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, open dynamotest.Opener) {
		ctx := t.Context()
		tables := newTables(t, open())
		clock := fakeclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		opts := dynamo.Options{MaxConnectionsPerPlayer: 1, MailboxMaxMessages: 1, Now: clock.Now}
		rival := dynamo.New(open(), tables, opts)
		hook := &hookAPI{API: open()}
		store := dynamo.New(hook, tables, opts)
		conn := func(id string, life time.Duration) domain.Connection {
			return domain.Connection{ID: id, PlayerID: "alice", ConnectedAt: clock.Now(), ExpiresAt: clock.Now().Add(life)}
		}
		ids := func() []string { return storetest.ConnIDs(t, store, "alice") }

		// A rival takes the only slot between the read and the put.
		hook.beforePut = func() {
			if err := rival.PutConnection(ctx, conn("rival=", time.Minute)); err != nil {
				t.Errorf("rival PutConnection: %v", err)
			}
		}
		if err := store.PutConnection(ctx, conn("late=", time.Hour)); !errors.Is(err, domain.ErrConnectionLimit) {
			t.Errorf("PutConnection after losing the race = %v, want ErrConnectionLimit", err)
		}
		if got := ids(); len(got) != 1 || got[0] != "rival=" {
			t.Errorf("connections = %v, want only the rival", got)
		}

		// The rival's connection expires; a new connection reuses the slot
		// between the read and the delete of a late $disconnect.
		clock.Advance(time.Minute)
		hook.beforeDelete = func() {
			if err := rival.PutConnection(ctx, conn("fresh=", time.Hour)); err != nil {
				t.Errorf("PutConnection into the expired slot: %v", err)
			}
		}
		if got := ids(); len(got) != 0 {
			t.Fatalf("connections = %v, want none live", got)
		}
		if err := store.DeleteConnection(ctx, "alice", "rival="); err != nil {
			t.Errorf("late DeleteConnection = %v, want nil", err)
		}
		if got := ids(); len(got) != 1 || got[0] != "fresh=" {
			t.Errorf("connections = %v, want the fresh one kept", got)
		}

		// A rival sender fills the one-message mailbox between the read
		// of its slots and the claim; the sender slot claimed before is
		// given back.
		msg := func(id, from string) domain.QueuedMessage {
			return domain.QueuedMessage{To: "bob", ID: id, From: from, Message: json.RawMessage(`{}`), SentAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}
		}
		inbox := func() []string { return storetest.InboxIDs(t, store, "bob", 0) }
		hook.putTo = "bob#slot"
		hook.beforePut = func() {
			if err := rival.Enqueue(ctx, msg("m-rival", "carol")); err != nil {
				t.Errorf("rival Enqueue: %v", err)
			}
		}
		if err := store.Enqueue(ctx, msg("m-late", "alice")); !errors.Is(err, domain.ErrMailboxFull) {
			t.Errorf("Enqueue after losing the race = %v, want ErrMailboxFull", err)
		}
		if got := inbox(); !slices.Equal(got, []string{"m-rival"}) {
			t.Errorf("inbox = %v; want the rival's message only", got)
		}
		if err := store.DeleteQueued(ctx, "bob", "m-rival"); err != nil {
			t.Fatal(err)
		}
		if err := store.Enqueue(ctx, msg("m-next", "alice")); err != nil {
			t.Errorf("Enqueue after the race = %v, want alice's one sender slot free", err)
		}

		// The same sender's other message takes its only sender slot
		// between the read and the claim.
		other := dynamo.New(open(), tables, dynamo.Options{MailboxMaxMessages: 5, MailboxMaxPerSender: 1, Now: clock.Now})
		quick := dynamo.New(open(), tables, dynamo.Options{MailboxMaxMessages: 5, MailboxMaxPerSender: 1, Now: clock.Now})
		hooked := &hookAPI{API: open(), putTo: "dave#from#mallory"}
		slow := dynamo.New(hooked, tables, dynamo.Options{MailboxMaxMessages: 5, MailboxMaxPerSender: 1, Now: clock.Now})
		toDave := func(id, from string) domain.QueuedMessage {
			m := msg(id, from)
			m.To = "dave"
			return m
		}
		hooked.beforePut = func() {
			if err := quick.Enqueue(ctx, toDave("d-quick", "mallory")); err != nil {
				t.Errorf("quick Enqueue: %v", err)
			}
		}
		if err := slow.Enqueue(ctx, toDave("d-slow", "mallory")); !errors.Is(err, domain.ErrMailboxFull) {
			t.Errorf("Enqueue after losing the sender slot = %v, want ErrMailboxFull", err)
		}
		if err := other.Enqueue(ctx, toDave("d-other", "erin")); err != nil {
			t.Errorf("another sender = %v, want it queued", err)
		}
		msgs, err := other.Inbox(ctx, "dave", 0)
		if err != nil || len(msgs) != 2 || msgs[0].ID != "d-other" || msgs[1].ID != "d-quick" {
			t.Errorf("dave's inbox = %+v, %v; want d-other and d-quick", msgs, err)
		}
	})
}

// putFault intercepts every PutItem into one partition: fault is given the
// write, which it may make, and returns the error the Store sees.
type putFault struct {
	dynamo.API
	partition string
	fault     func(write func() error) error
}

var errInjected = errors.New("injected failure")

// failPuts fails every PutItem into partition; when written, after the
// write took place, as after a timeout.
func failPuts(api dynamo.API, partition string, written bool) *putFault {
	return &putFault{API: api, partition: partition, fault: func(write func() error) error {
		if written {
			if err := write(); err != nil {
				return err
			}
		}
		return errInjected
	}}
}

func (f *putFault) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if !putsTo(in, f.partition) {
		return f.API.PutItem(ctx, in, opts...)
	}
	return nil, f.fault(func() error {
		_, err := f.API.PutItem(ctx, in, opts...)
		return err
	})
}

// putsTo reports whether in writes into partition.
func putsTo(in *dynamodb.PutItemInput, partition string) bool {
	p, _ := in.Item["playerId"].(*types.AttributeValueMemberS)
	return p != nil && p.Value == partition
}

// smallMailbox returns options for a mailbox of two messages with a quota
// of one per sender, and a maker of messages for bob.
func smallMailbox() (dynamo.Options, func(id, from string) domain.QueuedMessage) {
	clock := fakeclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	opts := dynamo.Options{MailboxMaxMessages: 2, MailboxMaxPerSender: 1, Now: clock.Now}
	return opts, func(id, from string) domain.QueuedMessage {
		return domain.QueuedMessage{To: "bob", ID: id, From: from, Message: json.RawMessage(`1`), SentAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}
	}
}

// TestEnqueueFailureKeepsTheCaps: a message write that fails after
// DynamoDB stored it must not leave a message holding no slot, and a call
// whose context ends midway still gives back what it claimed.
func TestEnqueueFailureKeepsTheCaps(t *testing.T) {
	ctx := t.Context()
	api := miniclient.NewClient()
	tables := newTables(t, api)
	opts, msg := smallMailbox()
	store := dynamo.New(api, tables, opts)

	// Stored, then reported failed: the item is removed with its slots.
	failing := dynamo.New(failPuts(api, "bob", true), tables, opts)
	if err := failing.Enqueue(ctx, msg("m0", "alice")); !errors.Is(err, errInjected) {
		t.Fatalf("Enqueue = %v, want the injected failure", err)
	}
	if q, err := store.Inbox(ctx, "bob", 0); err != nil || len(q) != 0 {
		t.Fatalf("inbox after a failed write = %v, %v; want empty", q, err)
	}
	for _, m := range []domain.QueuedMessage{msg("m1", "alice"), msg("m2", "carol")} {
		if err := store.Enqueue(ctx, m); err != nil {
			t.Fatalf("Enqueue(%s) = %v", m.ID, err)
		}
	}
	if err := store.Enqueue(ctx, msg("m3", "dave")); !errors.Is(err, domain.ErrMailboxFull) {
		t.Fatalf("a third message in a mailbox of two = %v, want ErrMailboxFull", err)
	}
	for _, id := range []string{"m1", "m2"} {
		if err := store.DeleteQueued(ctx, "bob", id); err != nil {
			t.Fatal(err)
		}
	}

	// The caller's context ends while the mailbox slot is claimed: the
	// sender slot already claimed is still given back. (Over HTTP, because
	// only the real SDK honours a cancelled context.)
	srv := httptest.NewServer(miniserver.NewServer())
	defer srv.Close()
	httpAPI := dynamotest.NewClient(srv.URL)
	httpTables := newTables(t, httpAPI)
	httpStore := dynamo.New(httpAPI, httpTables, opts)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cancelling := dynamo.New(&putFault{API: httpAPI, partition: "bob#slot", fault: func(func() error) error {
		cancel() // as a client gone or a Lambda deadline would
		return context.Canceled
	}}, httpTables, opts)
	if err := cancelling.Enqueue(cctx, msg("m4", "alice")); err == nil {
		t.Fatal("Enqueue with a cancelled context succeeded")
	}
	if err := httpStore.Enqueue(ctx, msg("m5", "alice")); err != nil {
		t.Fatalf("alice's quota is still held after a cancelled call: %v", err)
	}
}

// TestEnqueueFailureHoldsNoSlot checks that an Enqueue that fails after
// claiming slots gives back every slot it claimed, and only those.
func TestEnqueueFailureHoldsNoSlot(t *testing.T) {
	ctx := t.Context()
	api := miniclient.NewClient()
	tables := newTables(t, api)
	opts, msg := smallMailbox()
	store := dynamo.New(api, tables, opts)
	tests := []struct {
		name      string
		partition string // where the write fails
	}{
		{"the message write", "bob"},
		{"the mailbox slot claim", "bob#slot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failing := dynamo.New(failPuts(api, tt.partition, false), tables, opts)
			if err := failing.Enqueue(ctx, msg("m-fail", "alice")); !errors.Is(err, errInjected) || errors.Is(err, domain.ErrMailboxFull) {
				t.Fatalf("Enqueue = %v, want the injected failure", err)
			}
			// Both of alice's quota of one and the mailbox's two slots are free.
			for _, m := range []domain.QueuedMessage{msg("m-alice", "alice"), msg("m-carol", "carol")} {
				if err := store.Enqueue(ctx, m); err != nil {
					t.Fatalf("Enqueue(%s) after the failure = %v", m.ID, err)
				}
			}
			for _, id := range []string{"m-alice", "m-carol"} {
				if err := store.DeleteQueued(ctx, "bob", id); err != nil {
					t.Fatal(err)
				}
			}
		})
	}

	// A retried Enqueue of a queued message that fails keeps the slots
	// the message holds.
	if err := store.Enqueue(ctx, msg("m-kept", "alice")); err != nil {
		t.Fatal(err)
	}
	failing := dynamo.New(failPuts(api, "bob", false), tables, opts)
	if err := failing.Enqueue(ctx, msg("m-kept", "alice")); !errors.Is(err, errInjected) {
		t.Fatalf("retried Enqueue = %v, want the injected failure", err)
	}
	if err := store.Enqueue(ctx, msg("m-over", "alice")); !errors.Is(err, domain.ErrMailboxFull) {
		t.Errorf("alice past her quota after a failed retry = %v, want ErrMailboxFull", err)
	}
}

// TestCorruptRows: a row that does not decode is an error naming every
// attribute at fault, never a connection, message or ban with zero fields.
func TestCorruptRows(t *testing.T) {
	ctx := t.Context()
	api := miniclient.NewClient()
	tables := newTables(t, api)
	store := dynamo.New(api, tables, dynamo.Options{})
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	later := n("4102444800") // 2100
	for _, tt := range []struct {
		name  string
		table string
		item  map[string]types.AttributeValue
		read  func() error
		want  []string
	}{
		{"connection", tables.Connections,
			map[string]types.AttributeValue{"playerId": s("alice"), "slot": n("0"), "connectedAt": s("yesterday"), "expiresAt": later},
			func() error { _, err := store.PlayerConnections(ctx, "alice"); return err },
			[]string{"decode connection", "attribute connectionId ", "attribute connectedAt "}},
		{"queued message", tables.Mailbox,
			map[string]types.AttributeValue{"playerId": s("bob"), "messageId": s("m1"), "sentAt": n("1.5"), "expiresAt": later},
			func() error { _, err := store.Inbox(ctx, "bob", 0); return err },
			[]string{"decode queued message", "attribute from ", "attribute message ", "attribute sentAt"}},
		{"ban", tables.Bans,
			map[string]types.AttributeValue{"playerId": s("carol"), "until": s("never")},
			func() error { _, err := store.Ban(ctx, "carol"); return err },
			[]string{"decode ban", "attribute bannedAt ", "attribute until "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tt.table), Item: tt.item}); err != nil {
				t.Fatal(err)
			}
			err := tt.read()
			if err == nil {
				t.Fatal("read of a corrupt row succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

// TestBansLastPageHasNoCursor: a page that fills on the table's last ban
// is the last page, so no empty page follows it.
func TestBansLastPageHasNoCursor(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, open dynamotest.Opener) {
		store := dynamo.New(open(), newTables(t, open()), dynamo.Options{})
		for _, p := range []string{"ann", "ben"} {
			if err := store.PutBan(t.Context(), domain.Ban{PlayerID: p, Reason: "flood", BannedBy: "ops", BannedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		bans, next, err := store.ListBans(t.Context(), 2, "")
		if err != nil || len(bans) != 2 || next != "" {
			t.Errorf("ListBans(2) of 2 bans = %d bans, next %q, %v; want both and no next page", len(bans), next, err)
		}
	})
}
