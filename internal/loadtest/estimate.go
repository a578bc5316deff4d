package loadtest

import (
	"fmt"
	"io"
	"math"
	"time"
)

// What one operation costs in AWS, from the counts in BENCHMARKS.md ("What a
// message costs in AWS"). API Gateway bills each frame in or out as a
// message; connects and disconnects are not messages.
const (
	dynamoDelivered  = 3 // sendmessage to an online recipient: the ban read, the limiter write, the Query
	dynamoQueued     = 8 // sendmessage to an offline recipient
	dynamoConnect    = 4 // the connect limit, the slot claim (2) and the ban read
	dynamoDisconnect = 2
	dynamoInboxMsg   = 3 // per message handed over, beside 2 per inbox request
	// presence: 1 UpdateItem (rate limit) + 1 Query per name asked.
)

// usageEstimate is the expected AWS usage of a run against a deployed stack,
// for the work planned (a closed loop with -duration has no planned count).
type usageEstimate struct {
	Messages       int64  `json:"messages"` // sendmessage frames planned; -1: not known in advance
	Connects       int64  `json:"connects"`
	PresenceChecks int64  `json:"presenceChecks"` // at most, for disconnect→row gone
	APIMessages    int64  `json:"apiGatewayMessages"`
	LambdaInvokes  int64  `json:"lambdaInvocations"`
	DynamoDB       int64  `json:"dynamodbRequests"`
	ConnectionMins int64  `json:"connectionMinutes"`
	PerMessageNote string `json:"note"`
}

// estimate computes the expected usage of o's run.
func estimate(o Options) usageEstimate {
	players := int64(o.players)
	senders, perRound := int64(o.senders()), int64(o.perSlot())
	rate := o.perSenderRate()
	var slots int64 = -1 // per sender
	switch {
	case o.duration == 0:
		slots = int64(o.messages)
	case rate > 0:
		slots = int64(math.Ceil(rate * (o.duration.Seconds() + o.ramp.Seconds()/2)))
	}
	runFor := o.duration + o.ramp
	if runFor == 0 && rate > 0 {
		runFor = time.Duration(float64(o.messages) / rate * float64(time.Second))
	}
	e := usageEstimate{Messages: -1, Connects: players + 1} // the observer
	if slots >= 0 {
		e.Messages = slots * senders * perRound
	}
	if o.scenario == scenarioConnect {
		e.Messages = 0
		if slots >= 0 {
			e.Connects = slots*players + 1
		} else {
			e.Connects = -1
		}
	}
	if o.scenario == scenarioMixed {
		e.Connects += int64(math.Ceil(o.churn * runFor.Seconds()))
	}
	e.PerMessageNote = fmt.Sprintf("per message: 3 API Gateway messages (in, ack, delivery), 1 invocation, %d DynamoDB requests (%d when queued)", dynamoDelivered, dynamoQueued)
	if e.Messages < 0 || e.Connects < 0 {
		return e
	}
	queuedShare := 0.0
	if o.scenario == scenarioMixed {
		queuedShare = o.offlineFraction
	}
	queued := int64(math.Round(float64(e.Messages) * queuedShare))
	delivered := e.Messages - queued
	e.PresenceChecks = 2 * e.Connects
	e.APIMessages = 3*delivered + 2*queued + 2*e.PresenceChecks + 2*queued // the inbox: its message out again, request and answer folded in
	e.LambdaInvokes = e.Messages + 3*e.Connects + e.PresenceChecks         // authorizer, $connect and $disconnect per connection
	e.DynamoDB = dynamoDelivered*delivered + (dynamoQueued+dynamoInboxMsg)*queued +
		(dynamoConnect+dynamoDisconnect)*e.Connects + 2*e.PresenceChecks
	e.ConnectionMins = int64(math.Ceil(float64(players+1) * max(runFor.Minutes(), 1)))
	return e
}

func (e usageEstimate) writeText(w io.Writer) {
	fmt.Fprintln(w, "expected cost of this run, from the counts in BENCHMARKS.md:")
	if e.Messages < 0 || e.Connects < 0 {
		fmt.Fprintf(w, "  not known in advance: a closed loop with -duration sends as fast as the stack answers; %s\n", e.PerMessageNote)
		return
	}
	fmt.Fprintf(w, "  %d messages, %d connections, at most %d presence checks\n", e.Messages, e.Connects, e.PresenceChecks)
	fmt.Fprintf(w, "  API Gateway: about %d messages and %d connection minutes\n", e.APIMessages, e.ConnectionMins)
	fmt.Fprintf(w, "  Lambda: about %d invocations\n", e.LambdaInvokes)
	fmt.Fprintf(w, "  DynamoDB: about %d requests\n", e.DynamoDB)
}
