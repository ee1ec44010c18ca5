// Package pubsubrpc builds pubsub.RPC values from outside pubsub. An RPC
// carries its sender in an unexported field (the router fills it in as it
// reads the wire), which a replay of traced RPCs and the tests must fill
// in too: From is the one place that does it, by reflection, and its test
// fails the day a pubsub release renames or retypes the field.
package pubsubrpc

import (
	"reflect"
	"unsafe"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// New returns an RPC with body rpc, as if received from (or, for a sent
// RPC, addressed to) from.
func New(rpc *pb.RPC, from peer.ID) *pubsub.RPC {
	out := &pubsub.RPC{}
	if rpc != nil {
		out.Subscriptions, out.Publish, out.Control = rpc.Subscriptions, rpc.Publish, rpc.Control
	}
	SetFrom(out, from)
	return out
}

// SetFrom sets the sender rpc.From reports.
func SetFrom(rpc *pubsub.RPC, from peer.ID) {
	f := reflect.ValueOf(rpc).Elem().FieldByName("from")
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(from))
}
