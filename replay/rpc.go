package replay

import (
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// rpcFromMeta rebuilds, from the summary pubsub's trace keeps of an RPC,
// the RPC as a scorer's tracer reads it: its subscriptions and control
// messages (IHAVE, IWANT, GRAFT, PRUNE with backoffs when the recording
// gives them, IDONTWANT, an extensions message when it says so), and one
// message with its topic for each message it carried: a scorer reads the
// messages themselves through the message events, but counts those of a
// dropped RPC for the slow-peer penalty.
func rpcFromMeta(meta *pb.TraceEvent_RPCMeta, backoffs []uint64, extensions bool) *pb.RPC {
	rpc := &pb.RPC{}
	for _, m := range meta.GetMessages() {
		topic := m.GetTopic()
		rpc.Publish = append(rpc.Publish, &pb.Message{Topic: &topic})
	}
	for _, s := range meta.GetSubscription() {
		sub, topic := s.GetSubscribe(), s.GetTopic()
		rpc.Subscriptions = append(rpc.Subscriptions, &pb.RPC_SubOpts{Subscribe: &sub, Topicid: &topic})
	}
	c := meta.GetControl()
	if c == nil && !extensions {
		return rpc
	}
	ctl := &pb.ControlMessage{}
	for _, ih := range c.GetIhave() {
		topic := ih.GetTopic()
		ctl.Ihave = append(ctl.Ihave, &pb.ControlIHave{TopicID: &topic, MessageIDs: ids(ih.GetMessageIDs())})
	}
	for _, iw := range c.GetIwant() {
		ctl.Iwant = append(ctl.Iwant, &pb.ControlIWant{MessageIDs: ids(iw.GetMessageIDs())})
	}
	for _, g := range c.GetGraft() {
		topic := g.GetTopic()
		ctl.Graft = append(ctl.Graft, &pb.ControlGraft{TopicID: &topic})
	}
	for i, p := range c.GetPrune() {
		topic := p.GetTopic()
		prune := &pb.ControlPrune{TopicID: &topic}
		if i < len(backoffs) && backoffs[i] > 0 {
			b := backoffs[i]
			prune.Backoff = &b
		}
		ctl.Prune = append(ctl.Prune, prune)
	}
	for _, d := range c.GetIdontwant() {
		ctl.Idontwant = append(ctl.Idontwant, &pb.ControlIDontWant{MessageIDs: ids(d.GetMessageIDs())})
	}
	if extensions {
		ctl.Extensions = &pb.ControlExtensions{}
	}
	rpc.Control = ctl
	return rpc
}

func ids(raw [][]byte) []string {
	out := make([]string, len(raw))
	for i, id := range raw {
		out[i] = string(id)
	}
	return out
}

func hasPrunes(meta *pb.TraceEvent_RPCMeta) bool { return len(meta.GetControl().GetPrune()) > 0 }

func protocolOf(s string) protocol.ID { return protocol.ID(s) }
