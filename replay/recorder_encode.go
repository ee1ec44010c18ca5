package replay

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/peerscore/peerscore/internal/bounded"
)

// The writer encodes what the router's goroutine left (item) itself:
// pubsub's TraceEvent in protobuf, field by field as pb/trace.proto numbers
// them, and the extras in JSON as encoding/json would write an Extra
// (omitempty and all), without either's reflection. TestRecorderRoundTrip
// and TestRealNetworkTraces decode them with protobuf's and encoding/json's
// own decoders and compare with pubsub's own tracer.

// encoder holds a buffer per level of nesting (TraceEvent, its event,
// RPCMeta, ControlMeta, a control message), reused from event to event.
type encoder struct {
	lv    [5][]byte
	peers map[peer.ID]string // peer.ID.String is base58: kept
}

// peerString is p.String(), remembered for the few peers a node talks to;
// the memory is bounded by starting afresh past a few thousand.
func (e *encoder) peerString(p peer.ID) string {
	if s, ok := e.peers[p]; ok {
		return s
	}
	if e.peers == nil || len(e.peers) >= 4096 {
		e.peers = make(map[peer.ID]string)
	}
	s := p.String()
	e.peers[p] = s
	return s
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendOpt(b []byte, num protowire.Number, s optString) []byte {
	if !s.ok {
		return b
	}
	return appendString(b, num, s.s)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// traceEvent encodes it's trace event, as pubsub's tracer fills it in.
func (e *encoder) traceEvent(it *item, self peer.ID) []byte {
	typ := pb.TraceEvent_Type(it.kind)
	body := e.lv[1][:0]
	var field protowire.Number
	switch typ {
	case pb.TraceEvent_REJECT_MESSAGE:
		field = 5
		body = appendString(body, 1, it.id)
		body = appendString(body, 2, string(it.peer))
		body = appendString(body, 3, it.text)
		body = appendOpt(body, 4, it.topic)
	case pb.TraceEvent_DUPLICATE_MESSAGE:
		field = 6
		body = appendString(body, 1, it.id)
		body = appendString(body, 2, string(it.peer))
		body = appendOpt(body, 3, it.topic)
	case pb.TraceEvent_DELIVER_MESSAGE:
		field = 7
		body = appendString(body, 1, it.id)
		body = appendOpt(body, 2, it.topic)
		body = appendString(body, 3, string(it.peer))
	case pb.TraceEvent_ON_NEW_OUTBOUND_STREAM:
		field = 8
		body = appendString(body, 1, string(it.peer))
		body = appendString(body, 2, it.text)
	case pb.TraceEvent_ON_CLOSED_OUTBOUND_STREAM:
		field = 9
		body = appendString(body, 1, string(it.peer))
	case pb.TraceEvent_RECV_RPC, pb.TraceEvent_SEND_RPC, pb.TraceEvent_DROP_RPC:
		field = 10 + protowire.Number(typ-pb.TraceEvent_RECV_RPC)
		body = appendString(body, 1, string(it.peer))
		body = protowire.AppendTag(body, 2, protowire.BytesType)
		body = protowire.AppendBytes(body, e.rpcMeta(it.rpc))
	case pb.TraceEvent_JOIN:
		field = 13
		body = appendOpt(body, 1, it.topic)
	case pb.TraceEvent_LEAVE:
		field = 14
		body = appendOpt(body, 2, it.topic) // Leave's topic is its field 2
	case pb.TraceEvent_GRAFT, pb.TraceEvent_PRUNE:
		field = 15 + protowire.Number(typ-pb.TraceEvent_GRAFT)
		body = appendString(body, 1, string(it.peer))
		body = appendOpt(body, 2, it.topic)
	}
	e.lv[1] = body
	b := e.lv[0][:0]
	b = appendVarint(b, 1, uint64(typ))
	b = appendString(b, 2, string(self))
	b = appendVarint(b, 3, uint64(it.at))
	b = protowire.AppendTag(b, field, protowire.BytesType)
	b = protowire.AppendBytes(b, body)
	e.lv[0] = b
	return b
}

// rpcMeta encodes an RPCMeta (at level 2).
func (e *encoder) rpcMeta(sum *rpcSum) []byte {
	b := e.lv[2][:0]
	if sum == nil {
		return b
	}
	for _, m := range sum.msgs {
		sub := e.lv[3][:0]
		sub = appendString(sub, 1, m.id)
		sub = appendOpt(sub, 2, m.topic)
		e.lv[3] = sub
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, sub)
	}
	for _, s := range sum.subs {
		sub := e.lv[3][:0]
		if s.hasSubscribe {
			sub = appendVarint(sub, 1, protowire.EncodeBool(s.subscribe))
		}
		sub = appendOpt(sub, 2, s.topic)
		e.lv[3] = sub
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, sub)
	}
	if sum.ctl != nil {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, e.control(sum.ctl))
	}
	e.lv[2] = b
	return b
}

// control encodes a ControlMeta (at level 3, its messages at 4).
func (e *encoder) control(c *ctlSum) []byte {
	b := e.lv[3][:0]
	msg := func(num protowire.Number, fill func(sub []byte) []byte) {
		sub := fill(e.lv[4][:0])
		e.lv[4] = sub
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendBytes(b, sub)
	}
	ids := func(sub []byte, num protowire.Number, ids []string) []byte {
		for _, id := range ids {
			sub = appendString(sub, num, id)
		}
		return sub
	}
	for _, ih := range c.ihave {
		msg(1, func(sub []byte) []byte { return ids(appendOpt(sub, 1, ih.topic), 2, ih.ids) })
	}
	for _, iw := range c.iwant {
		msg(2, func(sub []byte) []byte { return ids(sub, 1, iw) })
	}
	for _, g := range c.graft {
		msg(3, func(sub []byte) []byte { return appendOpt(sub, 1, g) })
	}
	for _, p := range c.prune {
		msg(4, func(sub []byte) []byte { return ids(appendOpt(sub, 1, p.topic), 2, p.peers) })
	}
	for _, d := range c.idontwant {
		msg(5, func(sub []byte) []byte { return ids(sub, 1, d) })
	}
	e.lv[3] = b
	return b
}

// appendExtra encodes x as one line of JSON, as encoding/json writes an
// Extra. A field added to Extra must be added here too: TestAppendExtra
// fills every field of Extra, and fails on one it does not know.
func appendExtra(b []byte, x *Extra) []byte {
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, string(x.Kind))
	b = append(b, `,"at":`...)
	b = strconv.AppendInt(b, x.At, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, x.Seq, 10)
	if x.Peer != "" {
		b = append(b, `,"peer":`...)
		b = appendJSONString(b, x.Peer)
	}
	if len(x.IPs) > 0 {
		b = append(b, `,"ips":[`...)
		for i, ip := range x.IPs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, ip)
		}
		b = append(b, ']')
	}
	if x.Score != 0 {
		b = append(b, `,"score":`...)
		b = strconv.AppendFloat(b, bounded.Finite(x.Score), 'g', -1, 64)
	}
	if len(x.ID) > 0 {
		b = append(b, `,"id":"`...)
		b = base64.StdEncoding.AppendEncode(b, x.ID)
		b = append(b, '"')
	}
	if x.Topic != "" {
		b = append(b, `,"topic":`...)
		b = appendJSONString(b, x.Topic)
	}
	if len(x.Backoffs) > 0 {
		b = append(b, `,"backoffs":[`...)
		for i, v := range x.Backoffs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, v, 10)
		}
		b = append(b, ']')
	}
	if x.Took != 0 {
		b = append(b, `,"took":`...)
		b = strconv.AppendInt(b, int64(x.Took), 10)
	}
	if x.Self != "" {
		b = append(b, `,"self":`...)
		b = appendJSONString(b, x.Self)
	}
	if x.Router != nil { // once a recording, in its start: encoding/json will do
		if r, err := json.Marshal(x.Router); err == nil {
			b = append(b, `,"router":`...)
			b = append(b, r...)
		}
	}
	if len(x.Scores) > 0 {
		b = append(b, `,"scores":{`...)
		first := true
		for p, v := range x.Scores {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, p)
			b = append(b, ':')
			b = strconv.AppendFloat(b, bounded.Finite(v), 'g', -1, 64)
		}
		b = append(b, '}')
	}
	return append(b, '}', '\n')
}

// appendJSONString appends s as a JSON string: as it is when it needs no
// escaping (peer IDs, addresses, most topics), else as encoding/json
// escapes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
