// Package admin is the admin API: operators see a player's connections and
// ban, close connections (kick) and ban or unban players. It is one Lambda
// handler behind an HTTP API whose JWT authorizer has already checked the
// token; the handler checks that the caller belongs to the admin group.
//
// Routes (Routes lists their keys, as API Gateway names them):
//
//	GET    /admin/players/{playerId}              the player's live connections and ban
//	DELETE /admin/players/{playerId}/connections  close every connection of the player
//	DELETE /admin/connections/{connectionId}      close one connection (404 when unknown)
//	POST   /admin/players/{playerId}/ban          record a ban, close the connections, and with a
//	                                              user pool sign the user out and disable it
//	DELETE /admin/players/{playerId}/ban          lift the ban (and enable the user)
//	GET    /admin/bans?limit=&next=               the bans in force, a page at a time
//
// Errors are {"code","message"}: 400 bad_request, 401 unauthorized,
// 403 forbidden or banned (a banned caller has no admin API, and nobody
// lifts its own ban), 404 not_found, 503 unavailable. Every action writes one
// audit log line: actor, action, target and outcome.
package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/sync/errgroup"

	"github.com/serverless-websockets/serverless-websockets/internal/deadline"
	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// Route keys of the admin API, as API Gateway names them.
const (
	RouteGetPlayer       = "GET /admin/players/{playerId}"
	RouteKickPlayer      = "DELETE /admin/players/{playerId}/connections"
	RouteCloseConnection = "DELETE /admin/connections/{connectionId}"
	RouteBanPlayer       = "POST /admin/players/{playerId}/ban"
	RouteUnbanPlayer     = "DELETE /admin/players/{playerId}/ban"
	RouteListBans        = "GET /admin/bans"
)

// Defaults and limits.
const (
	DefaultBansPage = 50
	// MaxDurationSeconds is the longest timed ban: ten years.
	MaxDurationSeconds   = 10 * 365 * 24 * 3600
	maxBodyBytes         = 4 << 10
	maxConnectionIDBytes = 128
	closeConcurrency     = 8
	groupsClaim          = "cognito:groups"
)

// kickedFrame tells a client that an operator closed its connection.
var kickedFrame = protocol.Encode(protocol.ErrorFrame("", domain.Errorf(domain.CodeKicked, "an operator closed this connection")))

// Error codes of the admin API, besides the client protocol's.
const (
	codeUnauthorized = "unauthorized"
	codeNotFound     = "not_found"
	codeBadRequest   = string(domain.CodeBadRequest)
	codeForbidden    = string(domain.CodeForbidden)
	codeBanned       = string(domain.CodeBanned)
	codeUnavailable  = string(domain.CodeUnavailable)
)

// Step outcomes of a ban or an unban.
const (
	stepOK      = "ok"
	stepFailed  = "failed"
	stepSkipped = "skipped"
)

// Routes lists the route keys the handler serves.
var Routes = []string{RouteGetPlayer, RouteKickPlayer, RouteCloseConnection, RouteBanPlayer, RouteUnbanPlayer, RouteListBans}

// Store is what the handler needs of DynamoDB.
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

// Handler serves the admin API.
type Handler struct {
	Store       Store
	Connections Connections
	Accounts    Accounts // nil: no user pool; the account steps are skipped
	BadCursor   error    // the Store's error for a bad cursor (errors.Is)
	AdminGroup  string   // default "admin"
	// PlayerIDClaim names the claim holding the caller's player id; default
	// domain.DefaultPlayerIDClaim (username).
	PlayerIDClaim string
	Now           func() time.Time // default time.Now
	Logger        *slog.Logger     // default: discard
}

// apiError is an error answer.
type apiError struct {
	status  int
	code    string
	message string
	cause   error
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func fail(status int, code, message string, cause error) *apiError {
	return &apiError{status: status, code: code, message: message, cause: cause}
}

// Handle serves one request of the HTTP API (payload format 2.0).
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Every call ends a little before the function's deadline, so that the
	// answer (and the audit line) still goes out.
	ctx, cancel := deadline.WithReserve(ctx)
	defer cancel()
	rk := req.RouteKey
	if rk == "" || rk == "$default" {
		rk = req.RequestContext.RouteKey
	}
	a := &audit{action: rk, attrs: []slog.Attr{slog.String("requestId", req.RequestContext.RequestID)}}
	status, body, err := h.serve(ctx, req, rk, a)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = unavailable(err)
		}
		status = ae.status
		if body == nil {
			body = errorBody{Code: ae.code, Message: ae.message}
		}
		a.outcome = ae.code
		if ae.cause != nil {
			a.attrs = append(a.attrs, slog.String("cause", ae.cause.Error()))
		}
	} else {
		a.outcome = "ok"
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	} else if status >= 400 {
		level = slog.LevelWarn
	}
	log.LogAttrs(ctx, level, "admin action", append([]slog.Attr{
		slog.String("actor", a.actor), slog.String("action", a.action), slog.String("target", a.target),
		slog.String("outcome", a.outcome), slog.Int("status", status),
	}, a.attrs...)...)
	b, merr := json.Marshal(body)
	if merr != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"internal","message":"internal error"}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(b),
	}, nil
}

// audit is the one log line of a request.
type audit struct {
	actor, action, target, outcome string
	attrs                          []slog.Attr
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// serve authorizes and dispatches; it returns a status and body, or an error
// (with, for a partly done ban, a body too).
func (h *Handler) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest, rk string, a *audit) (int, any, error) {
	actor, err := h.caller(ctx, req)
	a.actor = actor
	if err != nil {
		return 0, nil, err
	}
	switch rk {
	case RouteGetPlayer, RouteKickPlayer, RouteBanPlayer, RouteUnbanPlayer:
		// Player ids are case-insensitive: the tables only know the
		// canonical form, so "Bob" is banned as the "bob" who connects.
		player, err := domain.NormalizePlayerID(req.PathParameters["playerId"])
		a.target = sanitize(req.PathParameters["playerId"])
		if err != nil {
			return 0, nil, fail(http.StatusBadRequest, codeBadRequest, "the player id must be 1 to 128 letters, digits or _ - . @ +", nil)
		}
		a.target = player
		switch rk {
		case RouteGetPlayer:
			return h.getPlayer(ctx, player)
		case RouteKickPlayer:
			return h.kick(ctx, player)
		case RouteBanPlayer:
			return h.ban(ctx, actor, player, req, a)
		default:
			if player == actor {
				// Unreachable for a banned caller, which is refused above;
				// the rule stands on its own all the same: lifting a ban
				// takes a second operator.
				return 0, nil, fail(http.StatusForbidden, codeForbidden, "an operator cannot lift its own ban; another operator must", nil)
			}
			return h.unban(ctx, player, a)
		}
	case RouteCloseConnection:
		id := req.PathParameters["connectionId"]
		a.target = sanitize(id)
		if id == "" || len(id) > maxConnectionIDBytes || !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return 0, nil, fail(http.StatusBadRequest, codeBadRequest, "the connection id is malformed", nil)
		}
		return h.closeOne(ctx, id)
	case RouteListBans:
		return h.listBans(ctx, req.QueryStringParameters)
	}
	return 0, nil, fail(http.StatusNotFound, codeNotFound, "no such route", nil)
}

// caller returns the caller's player id from the JWT authorizer's claims and
// refuses a caller outside the admin group, and a banned one: a token
// outlives its user's sign-out by up to an hour, so the group claim alone
// would leave a banned operator the admin API, its own unban included. The
// ban check is one strongly consistent GetItem per request; a failed read
// refuses the request (503), never lets it through.
func (h *Handler) caller(ctx context.Context, req events.APIGatewayV2HTTPRequest) (string, error) {
	jwt := req.RequestContext.Authorizer
	if jwt == nil || jwt.JWT == nil || len(jwt.JWT.Claims) == 0 {
		return "", fail(http.StatusUnauthorized, codeUnauthorized, "a bearer token is required", nil)
	}
	claims := jwt.JWT.Claims
	idClaim := cmp.Or(h.PlayerIDClaim, domain.DefaultPlayerIDClaim)
	actor, err := domain.NormalizePlayerID(claims[idClaim])
	if err != nil {
		return sanitize(claims[idClaim]), fail(http.StatusUnauthorized, codeUnauthorized, "the token names no valid player", nil)
	}
	group := cmp.Or(h.AdminGroup, domain.DefaultAdminGroup)
	if !slices.Contains(ParseGroups(claims[groupsClaim]), group) {
		return actor, fail(http.StatusForbidden, codeForbidden, "the caller is not in the "+group+" group", nil)
	}
	ban, err := h.Store.Ban(ctx, actor)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return actor, nil
	case err != nil:
		return actor, unavailable(fmt.Errorf("ban of the caller %s: %w", actor, err))
	}
	return actor, fail(http.StatusForbidden, codeBanned, "the caller is banned: "+ban.Reason, nil)
}

// ParseGroups reads cognito:groups exactly as an HTTP API JWT authorizer
// passes a list claim: claims arrive as strings, so the array
// ["admin","ops"] arrives as "[admin ops]", the items joined by one space
// inside one pair of brackets. Cognito's group names hold no white space
// (domain.ValidGroupName), so that form is read back without doubt. Any
// other form, or an item that is not such a name (two spaces in a row, a
// tab, a no-break space, an empty item), makes the whole claim count as no
// group: a claim that could be read two ways grants nothing. An empty
// claim, or "[]", is no group.
func ParseGroups(claim string) []string {
	if len(claim) < 3 || claim[0] != '[' || claim[len(claim)-1] != ']' {
		return nil // "", "[]" or not a list
	}
	inner := claim[1 : len(claim)-1]
	groups := strings.Split(inner, " ")
	for _, g := range groups {
		if !domain.ValidGroupName(g) {
			return nil
		}
	}
	return groups
}

// sanitize bounds a client-given id for the log.
func sanitize(s string) string {
	if len(s) > maxConnectionIDBytes {
		s = s[:maxConnectionIDBytes]
	}
	return strings.ToValidUTF8(s, "?")
}

// ---------------------------------------------------------------- routes

type connectionView struct {
	ConnectionID string `json:"connectionId"`
	ConnectedAt  string `json:"connectedAt"`
	SourceIP     string `json:"sourceIp"`
	UserAgent    string `json:"userAgent"`
}

type banView struct {
	PlayerID string  `json:"playerId"`
	Reason   string  `json:"reason"`
	BannedBy string  `json:"bannedBy"`
	BannedAt string  `json:"bannedAt"`
	Until    *string `json:"until"` // null: until lifted
}

func viewBan(b domain.Ban) *banView {
	v := &banView{PlayerID: b.PlayerID, Reason: b.Reason, BannedBy: b.BannedBy, BannedAt: protocol.FormatTime(b.BannedAt)}
	if !b.Until.IsZero() {
		u := protocol.FormatTime(b.Until)
		v.Until = &u
	}
	return v
}

type playerView struct {
	PlayerID    string           `json:"playerId"`
	Online      bool             `json:"online"`
	Connections []connectionView `json:"connections"`
	Ban         *banView         `json:"ban"`
}

func (h *Handler) getPlayer(ctx context.Context, player string) (int, any, error) {
	conns, err := h.Store.PlayerConnections(ctx, player)
	if err != nil {
		return 0, nil, unavailable(err)
	}
	v := playerView{PlayerID: player, Online: len(conns) > 0, Connections: []connectionView{}}
	for _, c := range conns {
		v.Connections = append(v.Connections, connectionView{ConnectionID: c.ID, ConnectedAt: protocol.FormatTime(c.ConnectedAt), SourceIP: c.SourceIP, UserAgent: c.UserAgent})
	}
	ban, err := h.Store.Ban(ctx, player)
	switch {
	case err == nil:
		v.Ban = viewBan(ban)
	case !errors.Is(err, domain.ErrNotFound):
		return 0, nil, unavailable(err)
	}
	return http.StatusOK, v, nil
}

func unavailable(cause error) *apiError {
	return fail(http.StatusServiceUnavailable, codeUnavailable, "a backing service failed, try again", cause)
}

// closedView answers a kick: how many connections were closed, and, when
// some could not be, the error's code and message beside the count.
type closedView struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Closed  int    `json:"closed"`
}

func (h *Handler) kick(ctx context.Context, player string) (int, any, error) {
	n, err := h.closeAll(ctx, player, kickedFrame)
	if err != nil {
		ae := unavailable(err)
		return 0, closedView{Code: ae.code, Message: ae.message, Closed: n}, ae
	}
	return http.StatusOK, closedView{Closed: n}, nil
}

// closeAll posts frame to every live connection of player and closes it. It
// returns how many it closed; a connection already gone does not count.
func (h *Handler) closeAll(ctx context.Context, player string, frame []byte) (int, error) {
	conns, err := h.Store.PlayerConnections(ctx, player)
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
			ok, err := h.closeConn(ctx, c.ID, frame)
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
func (h *Handler) closeConn(ctx context.Context, id string, frame []byte) (bool, error) {
	// The frame is a courtesy; closing is what counts, so a failed post
	// does not stop the delete.
	_ = h.Connections.Post(ctx, id, frame)
	err := h.Connections.Delete(ctx, id)
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
func (h *Handler) closeOne(ctx context.Context, id string) (int, any, error) {
	ok, err := h.closeConn(ctx, id, kickedFrame)
	if err != nil {
		return 0, nil, unavailable(err)
	}
	if !ok {
		return 0, nil, fail(http.StatusNotFound, codeNotFound, "no such connection", nil)
	}
	return http.StatusOK, closedView{Closed: 1}, nil
}

// banRequest is the body of POST /admin/players/{playerId}/ban.
type banRequest struct {
	Reason          string `json:"reason"`
	DurationSeconds *int64 `json:"durationSeconds"`
}

// Steps of a ban or an unban, each "ok", "failed" or "skipped".
type Steps struct {
	Record     string `json:"record"`
	Disconnect string `json:"disconnect,omitempty"`
	SignOut    string `json:"signOut,omitempty"`
	Disable    string `json:"disable,omitempty"`
	Enable     string `json:"enable,omitempty"`
}

// LogValue logs the steps that ran or were skipped.
func (s Steps) LogValue() slog.Value {
	var attrs []slog.Attr
	for _, st := range []struct{ name, v string }{
		{"record", s.Record}, {"disconnect", s.Disconnect}, {"signOut", s.SignOut}, {"disable", s.Disable}, {"enable", s.Enable},
	} {
		if st.v != "" {
			attrs = append(attrs, slog.String(st.name, st.v))
		}
	}
	return slog.GroupValue(attrs...)
}

type banResult struct {
	Code    string   `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
	Ban     *banView `json:"ban"`
	Closed  int      `json:"closed"`
	Steps   Steps    `json:"steps"`
}

func parseBan(body string, isBase64 bool) (banRequest, error) {
	var r banRequest
	bad := func(msg string) (banRequest, error) {
		return r, fail(http.StatusBadRequest, codeBadRequest, msg, nil)
	}
	if isBase64 {
		return bad("the body must be JSON text")
	}
	if len(body) > maxBodyBytes {
		return bad("the body is over 4096 bytes")
	}
	if !utf8.ValidString(body) {
		return bad("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return bad(`the body must be {"reason":"…","durationSeconds":3600}`)
	}
	if dec.More() {
		return bad("the body holds more than one JSON value")
	}
	r.Reason = strings.TrimSpace(r.Reason)
	switch {
	case r.Reason == "":
		return bad(`"reason" is required`)
	case len(r.Reason) > domain.MaxBanReasonBytes || strings.ContainsFunc(r.Reason, hiddenRune):
		return bad(fmt.Sprintf(`"reason" must be at most %d bytes of text without control or bidirectional formatting characters`, domain.MaxBanReasonBytes))
	case r.DurationSeconds != nil && (*r.DurationSeconds < 1 || *r.DurationSeconds > MaxDurationSeconds):
		return bad(fmt.Sprintf(`"durationSeconds" must be a whole number from 1 to %d; leave it out for a ban until lifted`, MaxDurationSeconds))
	}
	return r, nil
}

// hiddenRune reports a character a ban's reason may not hold: a control
// character (C0, DEL and C1: U+0000–U+001F, U+007F–U+009F) or a
// bidirectional formatting character, which would make the reason render
// as other text than it is where a page or a log shows it.
func hiddenRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, 0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069:
		return true
	}
	return false
}

// ban records the ban first (so $connect refuses the player from then on),
// then closes the player's connections, then signs the user out and disables
// it. Signing out first ends the refresh tokens while the user is still
// enabled: whether Cognito signs out a user already disabled is not
// documented, and some of its admin calls (AdminResetUserPassword) refuse
// a disabled user. A token issued between the two steps cannot connect
// ($connect reads the ban) and cannot be refreshed once the user is
// disabled. A failure after the record does not undo it: the answer is 503
// with the steps, and repeating the request is safe.
func (h *Handler) ban(ctx context.Context, actor, player string, req events.APIGatewayV2HTTPRequest, a *audit) (int, any, error) {
	r, err := parseBan(req.Body, req.IsBase64Encoded)
	if err != nil {
		return 0, nil, err
	}
	now := h.now()
	b := domain.Ban{PlayerID: player, Reason: r.Reason, BannedBy: actor, BannedAt: now.Truncate(time.Millisecond)}
	if r.DurationSeconds != nil {
		b.Until = b.BannedAt.Add(time.Duration(*r.DurationSeconds) * time.Second)
	}
	if err := h.Store.PutBan(ctx, b); err != nil {
		return 0, nil, unavailable(err)
	}
	res := banResult{Ban: viewBan(b), Steps: Steps{Record: stepOK}}
	var st stepRun
	n, err := h.closeAll(ctx, player, protocol.Encode(protocol.ErrorFrame("", domain.BannedError(b))))
	res.Closed = n
	st.record("disconnect", &res.Steps.Disconnect, err)
	if h.Accounts == nil {
		res.Steps.SignOut, res.Steps.Disable = stepSkipped, stepSkipped
		a.attrs = append(a.attrs, slog.String("cognito", "skipped: no user pool configured"))
	} else {
		st.record("signOut", &res.Steps.SignOut, h.Accounts.SignOut(ctx, player))
		st.record("disable", &res.Steps.Disable, h.Accounts.Disable(ctx, player))
	}
	a.attrs = append(a.attrs, slog.Int("closed", n), slog.String("reason", b.Reason), slog.Any("steps", res.Steps))
	if ae := st.failure("the ban is recorded"); ae != nil {
		res.Code, res.Message = ae.code, ae.message
		return 0, res, ae
	}
	return http.StatusOK, res, nil
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

// failure is the 503 that names the failed steps after done, or nil.
func (r *stepRun) failure(done string) *apiError {
	if len(r.failed) == 0 {
		return nil
	}
	return fail(http.StatusServiceUnavailable, codeUnavailable, done+", but these steps failed: "+strings.Join(r.failed, ", "), errors.Join(r.causes...))
}

type unbanResult struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Lifted  bool   `json:"lifted"`
	Steps   Steps  `json:"steps"`
}

func (h *Handler) unban(ctx context.Context, player string, a *audit) (int, any, error) {
	lifted, err := h.Store.DeleteBan(ctx, player)
	if err != nil {
		return 0, nil, unavailable(err)
	}
	res := unbanResult{Lifted: lifted, Steps: Steps{Record: stepOK, Enable: stepSkipped}}
	var st stepRun
	if h.Accounts == nil {
		a.attrs = append(a.attrs, slog.String("cognito", "skipped: no user pool configured"))
	} else {
		st.record("enable", &res.Steps.Enable, h.Accounts.Enable(ctx, player))
	}
	a.attrs = append(a.attrs, slog.Bool("lifted", lifted), slog.Any("steps", res.Steps))
	if ae := st.failure("the ban is lifted"); ae != nil {
		res.Code, res.Message = ae.code, ae.message
		return 0, res, ae
	}
	return http.StatusOK, res, nil
}

type bansView struct {
	Bans []*banView `json:"bans"`
	Next string     `json:"next,omitempty"`
}

func (h *Handler) listBans(ctx context.Context, q map[string]string) (int, any, error) {
	limit := DefaultBansPage
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > domain.MaxBansPage {
			return 0, nil, fail(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("limit must be a whole number from 1 to %d", domain.MaxBansPage), nil)
		}
		limit = n
	}
	bans, next, err := h.Store.ListBans(ctx, limit, q["next"])
	if err != nil {
		if h.BadCursor != nil && errors.Is(err, h.BadCursor) {
			return 0, nil, fail(http.StatusBadRequest, codeBadRequest, "next must be a cursor from an earlier page", nil)
		}
		return 0, nil, unavailable(err)
	}
	v := bansView{Bans: []*banView{}, Next: next}
	for _, b := range bans {
		v.Bans = append(v.Bans, viewBan(b))
	}
	return http.StatusOK, v, nil
}
