package pubsubrpc

import (
	"testing"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
)

// TestSetFrom fails when pubsub.RPC no longer keeps its sender where
// SetFrom writes it: the field renamed or retyped, From reading
// something else.
func TestSetFrom(t *testing.T) {
	topic := "t"
	rpc := New(&pb.RPC{Control: &pb.ControlMessage{Graft: []*pb.ControlGraft{{TopicID: &topic}}}}, "sender")
	if rpc.From() != "sender" {
		t.Fatalf("From() = %q, want %q", rpc.From(), "sender")
	}
	if len(rpc.GetControl().GetGraft()) != 1 {
		t.Fatal("the body was not kept")
	}
	SetFrom(rpc, "other")
	if rpc.From() != "other" {
		t.Fatalf("From() = %q after SetFrom, want %q", rpc.From(), "other")
	}
}
