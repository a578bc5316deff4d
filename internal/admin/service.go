package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// Store is what the admin workflow needs of DynamoDB.
type Store interface {
	PlayerConnections(ctx context.Context, playerID string) ([]domain.Connection, error)
	// Ban wraps domain.ErrNotFound when no ban is in force.
	Ban(ctx context.Context, playerID string) (domain.Ban, error)
	PutBan(ctx context.Context, b domain.Ban) error
	DeleteBan(ctx context.Context, playerID string) (bool, error)
	// ListBans wraps ErrBadCursor (given in Handler) for a cursor it did not return.
	ListBans(ctx context.Context, limit int, cursor string) ([]domain.Ban, string, error)
}

// Connections is the Management API: errors for a connection that no longer
// exists wrap domain.ErrGone.
type Connections interface {
	Post(ctx context.Context, connectionID string, data []byte) error
	Delete(ctx context.Context, connectionID string) error
}

// Accounts are the players' user accounts (Cognito).
type Accounts interface {
	SignOut(ctx context.Context, username string) error
	Disable(ctx context.Context, username string) error
	Enable(ctx context.Context, username string) error
}

// closeConcurrency bounds the connections of one player closed at once.
const closeConcurrency = 8

// kickedFrame tells a client that an operator closed its connection.
var kickedFrame = protocol.Encode(protocol.ErrorFrame("", domain.Errorf(domain.CodeKicked, "an operator closed this connection")))

// service is the admin workflow under the HTTP layer: what each route does
// to the tables, the connections and the accounts, in domain terms. Its
// errors are *domain.Error where the code is known; the HTTP layer turns
// codes into statuses.
type service struct {
	store       Store
	connections Connections
	accounts    Accounts // nil: no user pool
	now         func() time.Time
}

// Step outcomes of a ban or an unban.
const (
	stepOK      = "ok"
	stepFailed  = "failed"
	stepSkipped = "skipped"
)

// Steps of a ban or an unban, each "ok", "failed" or "skipped".
type Steps struct {
	Record     string `json:"record"`
	Disconnect string `json:"disconnect,omitempty"`
	SignOut    string `json:"signOut,omitempty"`
	Disable    string `json:"disable,omitempty"`
	Enable     string `json:"enable,omitempty"`
}

// authorize refuses an operator that is banned: its token outlives its
// sign-out by up to an hour, so the group claim alone would leave it the
// admin API, its own unban included. One strongly consistent GetItem; a
// read that fails refuses the request too.
func (s *service) authorize(ctx context.Context, actor string) error {
	ban, err := s.store.Ban(ctx, actor)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return nil
	case err != nil:
		return unavailable(fmt.Errorf("ban of the caller %s: %w", actor, err))
	}
	return domain.Errorf(domain.CodeBanned, "the caller is banned: %s", ban.Reason)
}

// player is a player's live connections and ban in force (nil: none).
type player struct {
	connections []domain.Connection
	ban         *domain.Ban
}

func (s *service) player(ctx context.Context, id string) (player, error) {
	conns, err := s.store.PlayerConnections(ctx, id)
	if err != nil {
		return player{}, unavailable(err)
	}
	p := player{connections: conns}
	ban, err := s.store.Ban(ctx, id)
	switch {
	case err == nil:
		p.ban = &ban
	case !errors.Is(err, domain.ErrNotFound):
		return player{}, unavailable(err)
	}
	return p, nil
}

// kick closes every live connection of the player with the kicked frame,
// and returns how many it closed.
func (s *service) kick(ctx context.Context, player string) (int, error) {
	n, err := s.closeAll(ctx, player, kickedFrame)
	if err != nil {
		return n, unavailable(err)
	}
	return n, nil
}

// closeAll posts frame to every live connection of player and closes it. It
// returns how many it closed; a connection already gone does not count.
func (s *service) closeAll(ctx context.Context, player string, frame []byte) (int, error) {
	conns, err := s.store.PlayerConnections(ctx, player)
	if err != nil {
		return 0, err
	}
	var (
		closed atomic.Int64
		errs   = make([]error, len(conns))
		g      errgroup.Group
	)
	g.SetLimit(closeConcurrency)
	for i, c := range conns {
		g.Go(func() error {
			ok, err := s.closeConn(ctx, c.ID, frame)
			if ok {
				closed.Add(1)
			}
			errs[i] = err
			return nil
		})
	}
	_ = g.Wait()
	return int(closed.Load()), errors.Join(errs...)
}

// closeConn tells the client why and closes its connection. It reports
// false, without error, for a connection already gone.
func (s *service) closeConn(ctx context.Context, id string, frame []byte) (bool, error) {
	// The frame is a courtesy; closing is what counts, so a failed post
	// does not stop the delete.
	_ = s.connections.Post(ctx, id, frame)
	err := s.connections.Delete(ctx, id)
	switch {
	case errors.Is(err, domain.ErrGone):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("close %s: %w", id, err)
	}
	return true, nil
}

// closeOne closes one connection; the DELETE's 410 (gone) tells an unknown
// connection, so no GET is needed first.
func (s *service) closeOne(ctx context.Context, id string) error {
	ok, err := s.closeConn(ctx, id, kickedFrame)
	if err != nil {
		return unavailable(err)
	}
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "no such connection")
	}
	return nil
}

// banOutcome is what a ban did: its record, the connections it closed and
// each step's outcome. failed is the 503 naming the steps that failed
// after the record, or nil.
type banOutcome struct {
	ban    domain.Ban
	closed int
	steps  Steps
	failed error
}

// ban records the ban first (so $connect refuses the player from then on),
// then closes the player's connections, then signs the user out and disables
// it. Signing out first ends the refresh tokens while the user is still
// enabled: whether Cognito signs out a user already disabled is not
// documented, and some of its admin calls (AdminResetUserPassword) refuse
// a disabled user. A token issued between the two steps cannot connect
// ($connect reads the ban) and cannot be refreshed once the user is
// disabled. A failure after the record does not undo it: the outcome names
// the failed steps, and repeating the request is safe. The error is the
// record's alone.
func (s *service) ban(ctx context.Context, b domain.Ban) (banOutcome, error) {
	if err := s.store.PutBan(ctx, b); err != nil {
		return banOutcome{}, unavailable(err)
	}
	out := banOutcome{ban: b, steps: Steps{Record: stepOK}}
	var st stepRun
	n, err := s.closeAll(ctx, b.PlayerID, protocol.Encode(protocol.ErrorFrame("", domain.BannedError(b))))
	out.closed = n
	st.record("disconnect", &out.steps.Disconnect, err)
	if s.accounts == nil {
		out.steps.SignOut, out.steps.Disable = stepSkipped, stepSkipped
	} else {
		st.record("signOut", &out.steps.SignOut, s.accounts.SignOut(ctx, b.PlayerID))
		st.record("disable", &out.steps.Disable, s.accounts.Disable(ctx, b.PlayerID))
	}
	out.failed = st.failure("the ban is recorded")
	return out, nil
}

// unbanOutcome is what an unban did; failed as in banOutcome.
type unbanOutcome struct {
	lifted bool
	steps  Steps
	failed error
}

// unban lifts the ban of player, which must not be the actor's own: a ban
// is lifted by another operator. It enables the user again.
func (s *service) unban(ctx context.Context, actor, player string) (unbanOutcome, error) {
	if player == actor {
		// Unreachable for a banned caller, which authorize refuses; the
		// rule stands on its own all the same.
		return unbanOutcome{}, domain.Errorf(domain.CodeForbidden, "an operator cannot lift its own ban; another operator must")
	}
	lifted, err := s.store.DeleteBan(ctx, player)
	if err != nil {
		return unbanOutcome{}, unavailable(err)
	}
	out := unbanOutcome{lifted: lifted, steps: Steps{Record: stepOK, Enable: stepSkipped}}
	var st stepRun
	if s.accounts != nil {
		st.record("enable", &out.steps.Enable, s.accounts.Enable(ctx, player))
	}
	out.failed = st.failure("the ban is lifted")
	return out, nil
}

// stepRun records the outcomes of the steps after a ban's or an unban's
// record.
type stepRun struct {
	failed []string
	causes []error
}

// record sets *field to the outcome of the step name.
func (r *stepRun) record(name string, field *string, err error) {
	*field = stepOK
	if err != nil {
		*field = stepFailed
		r.failed = append(r.failed, name)
		r.causes = append(r.causes, fmt.Errorf("%s: %w", name, err))
	}
}

// failure is the unavailable error that names the failed steps after done,
// or nil.
func (r *stepRun) failure(done string) error {
	if len(r.failed) == 0 {
		return nil
	}
	return &domain.Error{Code: domain.CodeUnavailable, Message: done + ", but these steps failed: " + strings.Join(r.failed, ", "), Err: errors.Join(r.causes...)}
}

// unavailable is a backing service's failure.
func unavailable(cause error) error {
	return &domain.Error{Code: domain.CodeUnavailable, Message: "a backing service failed, try again", Err: cause}
}
