package handlers

import (
	"context"
	"errors"
	"testing"
)

func TestDisconnectDeletesOnlyThisConnection(t *testing.T) {
	store := &fakeStore{}
	h := &Disconnect{Connections: store}
	ev := event("$disconnect", "conn-9=", "alice", "")
	resp, err := h.Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("resp = %+v, %v", resp, err)
	}
	if len(store.deleted) != 1 || store.deleted[0] != "alice/conn-9=" {
		t.Fatalf("deleted %v", store.deleted)
	}
	store.deleteErr = errors.New("dynamodb: 500")
	if resp, _ := h.Handle(context.Background(), ev); resp.StatusCode != 500 {
		t.Fatalf("a failed cleanup answered %d", resp.StatusCode)
	}
	ev.RequestContext.Authorizer = nil
	if resp, _ := h.Handle(context.Background(), ev); resp.StatusCode != 500 {
		t.Fatalf("a disconnect without identity answered %d", resp.StatusCode)
	}
}
