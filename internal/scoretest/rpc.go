package scoretest

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/pubsubrpc"
)

// RejectReasons are every rejection reason pubsub names, then "" and one
// it does not name.
var RejectReasons = []string{
	pubsub.RejectValidationFailed, pubsub.RejectValidationThrottled, pubsub.RejectValidationIgnored,
	pubsub.RejectInvalidSignature, pubsub.RejectMissingSignature, pubsub.RejectUnexpectedSignature,
	pubsub.RejectUnexpectedAuthInfo, pubsub.RejectSelfOrigin, pubsub.RejectBlacklstedPeer,
	pubsub.RejectBlacklistedSource, pubsub.RejectValidationQueueFull, "", "no such reason",
}

// SetFrom sets the sender of an RPC, as the router does when it receives
// one: pubsub keeps it in an unexported field that RPC.From reads.
func SetFrom(rpc *pubsub.RPC, p peer.ID) { pubsubrpc.SetFrom(rpc, p) }

// ControlRPC is an RPC from "from" carrying the control message ctl.
func ControlRPC(from peer.ID, ctl *pb.ControlMessage) *pubsub.RPC {
	rpc := &pubsub.RPC{RPC: pb.RPC{Control: ctl}}
	SetFrom(rpc, from)
	return rpc
}

// PruneThenGraft has s's tracer receive from "from" a PRUNE of topic,
// asking for backoff seconds of backoff (nil: none, the router's default),
// and right after it a GRAFT of topic: a GRAFT during the backoff.
func PruneThenGraft(s *peerscore.Scorer, from peer.ID, topic string, backoff *uint64) {
	s.Tracer().RecvRPC(ControlRPC(from, &pb.ControlMessage{Prune: []*pb.ControlPrune{{TopicID: &topic, Backoff: backoff}}}))
	s.Tracer().RecvRPC(ControlRPC(from, &pb.ControlMessage{Graft: []*pb.ControlGraft{{TopicID: &topic}}}))
}

// IWantRPC is an RPC of ours asking, in one IWANT, for the messages ids.
func IWantRPC(ids ...string) *pubsub.RPC {
	return &pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{Iwant: []*pb.ControlIWant{{MessageIDs: ids}}}}}
}

// sendCompleter is the tracer method pubsub v0.19.0 added; the Scorer's
// tracer has it on every release, but pubsub.RawTracer only from v0.19.0.
type sendCompleter interface {
	SendRPCCompleted(rpc *pubsub.RPC, p peer.ID, writeDuration time.Duration)
}

// SendRPCCompleted reports to s's tracer, as pubsub v0.19.0 and later do,
// that writing rpc to p took took.
func SendRPCCompleted(s *peerscore.Scorer, rpc *pubsub.RPC, p peer.ID, took time.Duration) {
	s.Tracer().(sendCompleter).SendRPCCompleted(rpc, p, took)
}
