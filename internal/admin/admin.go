// Package admin is the admin API: operators see a player's connections and
// ban, close connections (kick) and ban or unban players. It is one Lambda
// handler behind an HTTP API whose JWT authorizer has already checked the
// token; the handler checks that the caller belongs to the admin group and
// is not banned. The HTTP layer (this file) reads requests, authorizes the
// caller, renders answers and turns error codes into statuses in one table;
// the workflow under it (service.go) knows nothing of HTTP.
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
// lifts its own ban), 404 not_found, 500 internal (a bug), 503 unavailable.
// Every action writes one audit log line: actor, action, target and
// outcome.
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
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/serverless-websockets/serverless-websockets/internal/deadline"
	"github.com/serverless-websockets/serverless-websockets/internal/domain"
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

// Routes lists the route keys the handler serves.
var Routes = []string{RouteGetPlayer, RouteKickPlayer, RouteCloseConnection, RouteBanPlayer, RouteUnbanPlayer, RouteListBans}

// Defaults and limits.
const (
	DefaultBansPage = 50
	// MaxDurationSeconds is the longest timed ban: ten years.
	MaxDurationSeconds   = 10 * 365 * 24 * 3600
	maxBodyBytes         = 4 << 10
	maxConnectionIDBytes = 128
	groupsClaim          = "cognito:groups"
)

// statuses is the one translation of an error code to the admin API's
// HTTP status. A code not here, and an error without one, is a bug: 500.
var statuses = map[domain.Code]int{
	domain.CodeBadRequest:   http.StatusBadRequest,
	domain.CodeUnauthorized: http.StatusUnauthorized,
	domain.CodeForbidden:    http.StatusForbidden,
	domain.CodeBanned:       http.StatusForbidden,
	domain.CodeNotFound:     http.StatusNotFound,
	domain.CodeUnavailable:  http.StatusServiceUnavailable,
}

// status is the HTTP status of err's code.
func status(err error) int {
	if s, ok := statuses[domain.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
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

// service is the workflow over the handler's ports as they are now.
func (h *Handler) service() *service {
	svc := &service{store: h.Store, connections: h.Connections, accounts: h.Accounts, now: h.Now}
	if svc.now == nil {
		svc.now = time.Now
	}
	return svc
}

// Handle serves one request of the HTTP API (payload format 2.0).
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	svc := h.service()
	// Every call ends a little before the function's deadline, so that the
	// answer (and the audit line) still goes out.
	ctx, cancel := deadline.WithReserve(ctx)
	defer cancel()
	rk := req.RouteKey
	if rk == "" || rk == "$default" {
		rk = req.RequestContext.RouteKey
	}
	a := &audit{action: rk, outcome: "ok", attrs: []slog.Attr{slog.String("requestId", req.RequestContext.RequestID)}}
	code, body, err := http.StatusOK, any(nil), error(nil)
	if a.actor, err = h.caller(ctx, svc, req); err == nil {
		body, err = h.serve(ctx, svc, req, rk, a)
	}
	if err != nil {
		code = status(err)
		if body == nil {
			body = errorBody{Code: string(domain.ErrorCode(err)), Message: domain.ErrorMessage(err)}
		}
		a.outcome = string(domain.ErrorCode(err))
		a.attrs = append(a.attrs, slog.String("cause", err.Error()))
	}
	level := slog.LevelInfo
	if code >= 500 {
		level = slog.LevelError
	} else if code >= 400 {
		level = slog.LevelWarn
	}
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.LogAttrs(ctx, level, "admin action", append([]slog.Attr{
		slog.String("actor", a.actor), slog.String("action", a.action), slog.String("target", a.target),
		slog.String("outcome", a.outcome), slog.Int("status", code),
	}, a.attrs...)...)
	b, merr := json.Marshal(body)
	if merr != nil {
		code, b = http.StatusInternalServerError, []byte(`{"code":"internal","message":"internal error"}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: code,
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

func badRequest(format string, args ...any) error {
	return domain.Errorf(domain.CodeBadRequest, format, args...)
}

// serve dispatches an authorized request; it returns the answer's body, or
// an error (with, for a partly done ban or kick, a body too).
func (h *Handler) serve(ctx context.Context, svc *service, req events.APIGatewayV2HTTPRequest, rk string, a *audit) (any, error) {
	switch rk {
	case RouteGetPlayer, RouteKickPlayer, RouteBanPlayer, RouteUnbanPlayer:
		// Player ids are case-insensitive: the tables only know the
		// canonical form, so "Bob" is banned as the "bob" who connects.
		a.target = sanitize(req.PathParameters["playerId"])
		player, err := domain.NormalizePlayerID(req.PathParameters["playerId"])
		if err != nil {
			return nil, badRequest("the player id must be 1 to 128 letters, digits or _ - . @ +")
		}
		a.target = player
		switch rk {
		case RouteGetPlayer:
			p, err := svc.player(ctx, player)
			if err != nil {
				return nil, err
			}
			return viewPlayer(player, p), nil
		case RouteKickPlayer:
			n, err := svc.kick(ctx, player)
			if err != nil {
				return closedView{Code: string(domain.ErrorCode(err)), Message: domain.ErrorMessage(err), Closed: n}, err
			}
			return closedView{Closed: n}, nil
		case RouteBanPlayer:
			return h.ban(ctx, svc, a, player, req)
		default:
			out, err := svc.unban(ctx, a.actor, player)
			if err != nil {
				return nil, err
			}
			if svc.accounts == nil {
				a.attrs = append(a.attrs, slog.String("cognito", "skipped: no user pool configured"))
			}
			a.attrs = append(a.attrs, slog.Bool("lifted", out.lifted), slog.Any("steps", out.steps))
			res := unbanResult{Lifted: out.lifted, Steps: out.steps}
			if out.failed != nil {
				res.Code, res.Message = string(domain.ErrorCode(out.failed)), domain.ErrorMessage(out.failed)
			}
			return res, out.failed
		}
	case RouteCloseConnection:
		id := req.PathParameters["connectionId"]
		a.target = sanitize(id)
		if id == "" || len(id) > maxConnectionIDBytes || !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return nil, badRequest("the connection id is malformed")
		}
		if err := svc.closeOne(ctx, id); err != nil {
			return nil, err
		}
		return closedView{Closed: 1}, nil
	case RouteListBans:
		return h.listBans(ctx, svc, req.QueryStringParameters)
	}
	return nil, domain.Errorf(domain.CodeNotFound, "no such route")
}

// caller returns the caller's player id from the JWT authorizer's claims and
// refuses a caller outside the admin group, or banned (service.authorize).
func (h *Handler) caller(ctx context.Context, svc *service, req events.APIGatewayV2HTTPRequest) (string, error) {
	jwt := req.RequestContext.Authorizer
	if jwt == nil || jwt.JWT == nil || len(jwt.JWT.Claims) == 0 {
		return "", domain.Errorf(domain.CodeUnauthorized, "a bearer token is required")
	}
	claims := jwt.JWT.Claims
	idClaim := cmp.Or(h.PlayerIDClaim, domain.DefaultPlayerIDClaim)
	actor, err := domain.NormalizePlayerID(claims[idClaim])
	if err != nil {
		return sanitize(claims[idClaim]), domain.Errorf(domain.CodeUnauthorized, "the token names no valid player")
	}
	group := cmp.Or(h.AdminGroup, domain.DefaultAdminGroup)
	if !slices.Contains(ParseGroups(claims[groupsClaim]), group) {
		return actor, domain.Errorf(domain.CodeForbidden, "the caller is not in the %s group", group)
	}
	return actor, svc.authorize(ctx, actor)
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
	groups := strings.Split(claim[1:len(claim)-1], " ")
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

// banRequest is the body of POST /admin/players/{playerId}/ban.
type banRequest struct {
	Reason          string `json:"reason"`
	DurationSeconds *int64 `json:"durationSeconds"`
}

func parseBan(body string, isBase64 bool) (banRequest, error) {
	var r banRequest
	if isBase64 {
		return r, badRequest("the body must be JSON text")
	}
	if len(body) > maxBodyBytes {
		return r, badRequest("the body is over 4096 bytes")
	}
	if !utf8.ValidString(body) {
		return r, badRequest("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, badRequest(`the body must be {"reason":"…","durationSeconds":3600}`)
	}
	if dec.More() {
		return r, badRequest("the body holds more than one JSON value")
	}
	r.Reason = strings.TrimSpace(r.Reason)
	switch {
	case r.Reason == "":
		return r, badRequest(`"reason" is required`)
	case len(r.Reason) > domain.MaxBanReasonBytes || strings.ContainsFunc(r.Reason, hiddenRune):
		return r, badRequest(`"reason" must be at most %d bytes of text without control or bidirectional formatting characters`, domain.MaxBanReasonBytes)
	case r.DurationSeconds != nil && (*r.DurationSeconds < 1 || *r.DurationSeconds > MaxDurationSeconds):
		return r, badRequest(`"durationSeconds" must be a whole number from 1 to %d; leave it out for a ban until lifted`, MaxDurationSeconds)
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

func (h *Handler) ban(ctx context.Context, svc *service, a *audit, player string, req events.APIGatewayV2HTTPRequest) (any, error) {
	r, err := parseBan(req.Body, req.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	b := domain.Ban{PlayerID: player, Reason: r.Reason, BannedBy: a.actor, BannedAt: svc.now().Truncate(time.Millisecond)}
	if r.DurationSeconds != nil {
		b.Until = b.BannedAt.Add(time.Duration(*r.DurationSeconds) * time.Second)
	}
	out, err := svc.ban(ctx, b)
	if err != nil {
		return nil, err
	}
	if svc.accounts == nil {
		a.attrs = append(a.attrs, slog.String("cognito", "skipped: no user pool configured"))
	}
	a.attrs = append(a.attrs, slog.Int("closed", out.closed), slog.String("reason", b.Reason), slog.Any("steps", out.steps))
	res := banResult{Ban: viewBan(out.ban), Closed: out.closed, Steps: out.steps}
	if out.failed != nil {
		res.Code, res.Message = string(domain.ErrorCode(out.failed)), domain.ErrorMessage(out.failed)
	}
	return res, out.failed
}

func (h *Handler) listBans(ctx context.Context, svc *service, q map[string]string) (any, error) {
	limit := DefaultBansPage
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > domain.MaxBansPage {
			return nil, badRequest("limit must be a whole number from 1 to %d", domain.MaxBansPage)
		}
		limit = n
	}
	bans, next, err := svc.store.ListBans(ctx, limit, q["next"])
	if err != nil {
		if h.BadCursor != nil && errors.Is(err, h.BadCursor) {
			return nil, badRequest("next must be a cursor from an earlier page")
		}
		return nil, unavailable(fmt.Errorf("list bans: %w", err))
	}
	v := bansView{Bans: []*banView{}, Next: next}
	for _, b := range bans {
		v.Bans = append(v.Bans, viewBan(b))
	}
	return v, nil
}
