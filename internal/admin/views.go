package admin

import (
	"log/slog"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// The JSON answers of the admin API.

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

func viewPlayer(id string, p player) playerView {
	v := playerView{PlayerID: id, Online: len(p.connections) > 0, Connections: []connectionView{}}
	for _, c := range p.connections {
		v.Connections = append(v.Connections, connectionView{ConnectionID: c.ID, ConnectedAt: protocol.FormatTime(c.ConnectedAt), SourceIP: c.SourceIP, UserAgent: c.UserAgent})
	}
	if p.ban != nil {
		v.Ban = viewBan(*p.ban)
	}
	return v
}

// closedView answers a kick: how many connections were closed, and, when
// some could not be, the error's code and message beside the count.
type closedView struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Closed  int    `json:"closed"`
}

type banResult struct {
	Code    string   `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
	Ban     *banView `json:"ban"`
	Closed  int      `json:"closed"`
	Steps   Steps    `json:"steps"`
}

type unbanResult struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Lifted  bool   `json:"lifted"`
	Steps   Steps  `json:"steps"`
}

type bansView struct {
	Bans []*banView `json:"bans"`
	Next string     `json:"next,omitempty"`
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
