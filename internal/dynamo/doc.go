// Package dynamo is the DynamoDB adapter for players' connections and the
// offline mailbox. It is written against the aws-sdk-go-v2 DynamoDB API and
// runs unchanged on DynamoDB, minidyn and dynalite.
//
// It uses conditional single-item writes only, never transactions (dynalite
// has none). Every read treats a row whose expiresAt is at or before now as
// absent, because no engine deletes expired items promptly; now comes from an
// injected clock. expiresAt is kept in whole unix seconds, rounded down (the
// TTL attribute's unit), so a row is absent from the start of the second its
// expiry falls in; the other times are kept to the millisecond.
//
// # Connections table
//
//	key         playerId  HASH   S   the token's player
//	            slot      RANGE  N   0 .. MaxConnectionsPerPlayer-1
//	attributes  connectionId     S   API Gateway connection id
//	            connectedAt      N   unix milliseconds
//	            expiresAt        N   unix seconds; the table's TTL attribute
//	            sourceIp         S   omitted when empty
//	            userAgent        S   omitted when empty
//	billing     PAY_PER_REQUEST, no secondary index, TTL on expiresAt
//
// A player owns a fixed set of slots, and a connection is stored in one of
// them, so the cap is exact under any number of concurrent writers:
// PutConnection reads the player's slots (one strongly consistent Query) and
// claims a free one with a PutItem conditioned on
//
//	attribute_not_exists(playerId) OR expiresAt <= :now OR connectionId = :id
//
// which holds only when the slot is empty, holds an expired connection, or
// already holds this very connection (a retried $connect overwrites its own
// row instead of taking a second slot). On ConditionalCheckFailed it tries
// the next slot it saw free, then queries again; when no slot is free it
// refuses with domain.ErrConnectionLimit. Live connections therefore never
// outnumber the slots. The expiry instant is judged by the writer's clock;
// skew between writers moves it by the skew, never past the cap. Lowering
// MaxConnectionsPerPlayer leaves rows in the slots above the new maximum
// unseen by the cap until they expire or disconnect.
//
// DeleteConnection finds the slot that holds the connection id and deletes
// it on condition that it still holds that id, so a late $disconnect or 410
// cleanup never removes a newer connection that reused the slot.
//
// # Mailbox table
//
// The mailbox table holds three kinds of item.
//
// Messages, one item per queued message:
//
//	key         playerId  HASH   S   the recipient
//	            messageId RANGE  S   the server message id; sorts in queue order
//	attributes  from             S   the sender
//	            message          S   the message as raw JSON text
//	            sentAt           N   unix milliseconds
//	            expiresAt        N   unix seconds; the table's TTL attribute
//	            slot             N   the mailbox slot the message holds
//	            senderSlot       N   the sender slot the message holds
//
// Mailbox slots, one small item per occupied slot, in a partition of their
// own whose key is the player id followed by "#slot" (a valid player id never
// contains '#', so it cannot meet a player's partition):
//
//	key         playerId  HASH   S   "<player>#slot"
//	            messageId RANGE  S   the slot number in decimal, "0" .. "99"
//	attributes  heldBy           S   the id of the message holding the slot
//	            expiresAt        N   that message's expiresAt; the TTL attribute
//
// Sender slots, the same small items in a partition per recipient and
// sender, "<player>#from#<sender>" (the recipient has no '#', so the first
// '#' ends it and no two pairs share a partition, nor meet the partitions
// above):
//
//	key         playerId  HASH   S   "<player>#from#<sender>"
//	            messageId RANGE  S   the slot number in decimal, "0" .. "19"
//	attributes  heldBy           S   the id of the message holding the slot
//	            expiresAt        N   that message's expiresAt; the TTL attribute
//
// billing: PAY_PER_REQUEST, no secondary index, TTL on expiresAt.
//
// The mailbox cap is exact in the same way as the connection cap: Enqueue
// reads the recipient's slot items (one strongly consistent Query over small
// items, cheaper than counting the messages themselves), claims a free or
// expired slot with a conditional PutItem, then writes the message. At most
// MailboxMaxMessages messages can hold a slot at once, however many senders
// race; at the cap Enqueue refuses with domain.ErrMailboxFull.
//
// The sender quota keeps one sender from filling a mailbox for everyone
// else: each message also holds one of MailboxMaxPerSender slots of its
// (recipient, sender) pair, claimed the same way and first, so that a sender
// at its quota is refused (domain.ErrMailboxFull again) after one Query,
// before it touches the slots all senders share. When the mailbox slot
// cannot be had, Enqueue deletes the sender slot it just claimed (on
// condition that it still names the message), so a refused message holds
// nothing. The pair's own partition keeps that Query to at most
// MailboxMaxPerSender items, whoever else writes to the player. A slot the
// message already held (a retried Enqueue of a queued message) is never
// given back by a failing retry.
//
// DeleteQueued deletes the message and then frees both its slots, each on
// condition that the slot still names that message, so a late delete of an
// expired message never frees a slot a newer message has taken.
//
// Failures never loosen a cap. When the message write of Enqueue fails, the
// message may still have been stored (a timeout or a 5xx after the write), so
// Enqueue deletes the message item first and gives back its slots only when
// that delete succeeds; otherwise the slots stay held. Slots are given back
// under a context that outlives the caller's cancellation (bounded by 5 s),
// so a client gone or a Lambda deadline midway does not keep a slot. A
// process that dies between the writes of Enqueue or of DeleteQueued leaves a
// slot held without a message; the slot is reclaimed when the expiresAt it
// carries passes, so such a failure can only make a cap stricter, for at
// most the message TTL.
//
// CreateTables makes the tables (the bans table when named) for local
// engines and development, with EnsureTable; it does not enable
// TTL (the SAM template does, on expiresAt).
//
// # Requests per operation (when nothing races)
//
//	PutConnection     1 Query + 1 PutItem
//	DeleteConnection  1 Query + 1 DeleteItem (just the Query when absent)
//	PlayerConnections 1 Query
//	OnlinePlayers     1 Query per distinct player, at most 8 at once
//	Enqueue           2 Query + 3 PutItem (sender slot, mailbox slot, message)
//	  refused by the sender quota   1 Query
//	  refused by the mailbox cap    2 Query + 1 PutItem + 1 DeleteItem
//	Inbox             1 Query per page
//	DeleteQueued      3 DeleteItem (1 when absent)
package dynamo
