package peerscore_test

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// Random event traces, replayed into peerscore and (in the parity test) into
// pubsub's own scorer. A trace is a list of events over a few peers, three
// scored topics and one unscored topic, with time advancing between them;
// messages go through plausible lives (validated, copied, delivered or
// rejected) but also through odd ones (decided twice, copied by strangers).

type traceOp int

const (
	opConnect traceOp = iota
	opDisconnect
	opGraft
	opPrune
	opValidate
	opDeliver
	opReject
	opDuplicate
	opPenalty
	opSetIPs
	opRefresh
	opAdvance
	opSetTopic
	opFeedback
)

var opNames = [...]string{"connect", "disconnect", "graft", "prune", "validate", "deliver", "reject",
	"duplicate", "penalty", "setIPs", "refresh", "advance", "setTopic", "feedback"}

func (o traceOp) String() string { return opNames[o] }

type traceEvent struct {
	op      traceOp
	peer    int
	topic   int
	msg     int // index into the trace's messages
	reason  string
	count   int
	ips     []string
	advance time.Duration
	params  *peerscore.TopicParams
	kind    pubsub.PeerFeedbackKind
}

func (e traceEvent) String() string {
	return fmt.Sprintf("%v peer=%d topic=%d msg=%d reason=%q count=%d ips=%v advance=%v kind=%d",
		e.op, e.peer, e.topic, e.msg, e.reason, e.count, e.ips, e.advance, e.kind)
}

// traceMsg is one message of a trace: its topic, author and ID. An empty ID
// makes the scorers compute it from From and Seqno.
type traceMsg struct {
	topic int
	from  int
	id    string
}

type trace struct {
	peers  []peer.ID
	topics []string // the last one is not scored
	msgs   []traceMsg
	events []traceEvent
	params func() *peerscore.Params
}

var traceTopics = []string{"/t/blocks", "/t/attestations", "/t/sync", "/t/unscored"}

var rejectReasons = []string{
	pubsub.RejectValidationFailed, pubsub.RejectValidationFailed, pubsub.RejectValidationFailed,
	pubsub.RejectValidationThrottled, pubsub.RejectValidationIgnored, pubsub.RejectInvalidSignature,
	pubsub.RejectMissingSignature, pubsub.RejectUnexpectedSignature, pubsub.RejectUnexpectedAuthInfo,
	pubsub.RejectSelfOrigin, pubsub.RejectBlacklstedPeer, pubsub.RejectBlacklistedSource,
	pubsub.RejectValidationQueueFull, "some reason pubsub does not know",
}

// feedbackKinds are the application's verdicts, and one no pubsub knows.
var feedbackKinds = []pubsub.PeerFeedbackKind{
	pubsub.PeerFeedbackUsefulMessage, pubsub.PeerFeedbackUsefulMessage, pubsub.PeerFeedbackUsefulMessage,
	pubsub.PeerFeedbackInvalidMessage, pubsub.PeerFeedbackInvalidMessage, 7,
}

var ipPool = []string{"1.2.3.4", "1.2.3.4", "5.6.7.8", "10.0.0.1", "2001:db8::1", "2001:db8::", "2001:db8::2"}

var advances = []time.Duration{0, 500 * time.Microsecond, time.Millisecond, 3 * time.Millisecond,
	50 * time.Millisecond, 400 * time.Millisecond, time.Second, 2 * time.Second, 7 * time.Second, 40 * time.Second}

// newTrace generates a trace of n events from seed.
func newTrace(seed uint64, n int) *trace {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	tr := &trace{topics: traceTopics}
	for i := 0; i < 7; i++ {
		tr.peers = append(tr.peers, peer.ID("peer-"+strconv.Itoa(i)))
	}
	paramSeed := rng.Uint64()
	tr.params = func() *peerscore.Params { return randomParams(rand.New(rand.NewPCG(paramSeed, 1))) }

	pending := []int{} // messages not yet decided
	pick := func(k int) int { return rng.IntN(k) }
	newMsg := func() int {
		m := traceMsg{topic: pick(len(tr.topics)), from: pick(len(tr.peers))}
		if pick(10) > 0 {
			m.id = "m" + strconv.Itoa(len(tr.msgs))
		}
		tr.msgs = append(tr.msgs, m)
		return len(tr.msgs) - 1
	}
	anyMsg := func() int {
		if len(tr.msgs) == 0 || pick(8) == 0 {
			return newMsg()
		}
		// Mostly recent messages: that is where the action is.
		lo := max(0, len(tr.msgs)-20)
		return lo + pick(len(tr.msgs)-lo)
	}
	for len(tr.events) < n {
		e := traceEvent{peer: pick(len(tr.peers)), topic: pick(len(tr.topics))}
		switch r := pick(100); {
		case r < 6:
			e.op = opConnect
		case r < 10:
			e.op = opDisconnect
		case r < 19:
			e.op = opGraft
		case r < 24:
			e.op = opPrune
		case r < 33:
			e.op, e.msg = opValidate, newMsg()
			pending = append(pending, e.msg)
		case r < 42:
			e.op = opDeliver
			e.msg, pending = takePending(rng, pending, anyMsg)
			e.peer = deliverer(rng, tr, e.msg)
		case r < 48:
			e.op = opReject
			e.msg, pending = takePending(rng, pending, anyMsg)
			e.peer = deliverer(rng, tr, e.msg)
			e.reason = rejectReasons[pick(len(rejectReasons))]
		case r < 70:
			e.op, e.msg = opDuplicate, anyMsg()
		case r < 73:
			e.op, e.count = opPenalty, 1+pick(3)
		case r < 77:
			e.op = opSetIPs
			for k := pick(3); k > 0; k-- {
				e.ips = append(e.ips, ipPool[pick(len(ipPool))])
			}
		case r < 83:
			e.op = opRefresh
		case r < 96:
			e.op, e.advance = opAdvance, advances[pick(len(advances))]
		case r < 99:
			e.op, e.kind = opFeedback, feedbackKinds[pick(len(feedbackKinds))]
		default:
			e.op, e.topic = opSetTopic, pick(len(tr.topics)-1)
			e.params = randomTopicParams(rng)
		}
		tr.events = append(tr.events, e)
	}
	return tr
}

// takePending picks a message under validation, or now and then any message
// (deciding a message twice is one of the odd lives).
func takePending(rng *rand.Rand, pending []int, anyMsg func() int) (int, []int) {
	if len(pending) == 0 || rng.IntN(10) == 0 {
		return anyMsg(), pending
	}
	i := rng.IntN(len(pending))
	m := pending[i]
	pending[i] = pending[len(pending)-1]
	return m, pending[:len(pending)-1]
}

// deliverer is usually the message's author, sometimes someone else.
func deliverer(rng *rand.Rand, tr *trace, m int) int {
	if rng.IntN(4) == 0 {
		return rng.IntN(len(tr.peers))
	}
	return tr.msgs[m].from
}

func randomParams(rng *rand.Rand) *peerscore.Params {
	p := &peerscore.Params{
		Topics:            map[string]*peerscore.TopicParams{},
		AppSpecificWeight: []float64{0, 1, 0.5}[rng.IntN(3)],
		DecayInterval:     time.Second,
		DecayToZero:       []float64{0.01, 0.1}[rng.IntN(2)],
		RetainScore:       []time.Duration{0, 10 * time.Second, time.Minute}[rng.IntN(3)],
		SeenMsgTTL:        []time.Duration{0, 5 * time.Second, 30 * time.Second}[rng.IntN(3)],
	}
	if rng.IntN(2) == 0 {
		p.TopicScoreCap = []float64{1, 5, 50}[rng.IntN(3)]
	}
	if rng.IntN(3) > 0 {
		p.IPColocationFactorWeight = -5
		p.IPColocationFactorThreshold = 1 + rng.IntN(2)
	}
	if rng.IntN(3) > 0 {
		p.BehaviourPenaltyWeight = -2
		p.BehaviourPenaltyThreshold = float64(rng.IntN(3))
		p.BehaviourPenaltyDecay = 0.9
	}
	// A fixed application score per peer, some negative, so that retention
	// of disconnected peers happens both ways.
	p.AppSpecificScore = func(id peer.ID) float64 {
		h := fnv.New32a()
		h.Write([]byte(id))
		return float64(int(h.Sum32()%7)) - 3
	}
	for _, t := range traceTopics[:len(traceTopics)-1] {
		p.Topics[t] = randomTopicParams(rng)
	}
	return p
}

func randomTopicParams(rng *rand.Rand) *peerscore.TopicParams {
	on := func() bool { return rng.IntN(4) > 0 }
	tp := &peerscore.TopicParams{
		TopicWeight:                   []float64{0.5, 1, 0.25}[rng.IntN(3)],
		TimeInMeshQuantum:             []time.Duration{time.Second, 3 * time.Second}[rng.IntN(2)],
		InvalidMessageDeliveriesDecay: 0.9,
	}
	if on() {
		tp.TimeInMeshWeight, tp.TimeInMeshCap = 0.1, float64(5+rng.IntN(20))
	}
	if on() {
		tp.FirstMessageDeliveriesWeight = 1
		tp.FirstMessageDeliveriesDecay = 0.8
		tp.FirstMessageDeliveriesCap = float64(3 + rng.IntN(10))
	}
	if on() {
		tp.MeshMessageDeliveriesWeight = -0.5
		tp.MeshMessageDeliveriesDecay = 0.7
		tp.MeshMessageDeliveriesCap = float64(4 + rng.IntN(10))
		tp.MeshMessageDeliveriesThreshold = float64(1 + rng.IntN(4))
		tp.MeshMessageDeliveriesWindow = []time.Duration{0, time.Millisecond, 5 * time.Millisecond}[rng.IntN(3)]
		tp.MeshMessageDeliveriesActivation = []time.Duration{time.Second, 5 * time.Second}[rng.IntN(2)]
	}
	if on() {
		tp.MeshFailurePenaltyWeight, tp.MeshFailurePenaltyDecay = -0.5, 0.8
	}
	if on() {
		tp.InvalidMessageDeliveriesWeight = -3
	}
	return tp
}

// eventSubject is what a trace's events go to: a scorer's tracer and the
// calls an application makes.
type eventSubject interface {
	pubsub.RawTracer
	Score(peer.ID) float64
	AddPenalty(peer.ID, int)
	SetTopicParams(string, *peerscore.TopicParams) error
	PeerFeedback(string, peer.ID, pubsub.PeerFeedbackKind)
}

// traceSubject is a scorer a test steps by hand: it refreshes when the
// trace says so and takes addresses without a host.
type traceSubject interface {
	eventSubject
	Refresh()
	SetIPs(peer.ID, []string)
}

// ours adapts a Scorer and its tracer to traceSubject.
type ours struct {
	*peerscore.Scorer
	pubsub.RawTracer
}

func wrapOurs(s *peerscore.Scorer) ours { return ours{s, s.Tracer()} }

func (o ours) SetIPs(p peer.ID, ips []string) { peerscore.SetIPsForTest(o.Scorer, p, ips) }

// message builds a fresh pubsub.Message for event e: each subject gets its
// own, since pubsub writes the ID it computes into the message.
func (tr *trace) message(e traceEvent) *pubsub.Message {
	m := tr.msgs[e.msg]
	topic := tr.topics[m.topic]
	return &pubsub.Message{
		Message: &pb.Message{
			Topic: &topic,
			From:  []byte(tr.peers[m.from]),
			Seqno: []byte(strconv.Itoa(e.msg)),
			Data:  []byte("x"),
		},
		ID:           m.id,
		ReceivedFrom: tr.peers[e.peer],
	}
}

// apply replays one event into s; time advances are the caller's.
func (tr *trace) apply(s traceSubject, e traceEvent) {
	switch e.op {
	case opSetIPs:
		s.SetIPs(tr.peers[e.peer], e.ips)
	case opRefresh:
		s.Refresh()
	default:
		tr.applyEvent(s, e)
	}
}

// applyEvent replays one event that is neither a refresh, an address
// change nor a time advance into s.
func (tr *trace) applyEvent(s eventSubject, e traceEvent) {
	p := tr.peers[e.peer]
	switch e.op {
	case opConnect:
		s.OnNewOutboundStream(p, "/meshsub/1.1.0")
	case opDisconnect:
		s.OnClosedOutboundStream(p)
	case opGraft:
		s.Graft(p, tr.topics[e.topic])
	case opPrune:
		s.Prune(p, tr.topics[e.topic])
	case opValidate:
		s.ValidateMessage(tr.message(e))
	case opDeliver:
		s.DeliverMessage(tr.message(e))
	case opReject:
		s.RejectMessage(tr.message(e), e.reason)
	case opDuplicate:
		s.DuplicateMessage(tr.message(e))
	case opPenalty:
		s.AddPenalty(p, e.count)
	case opFeedback:
		s.PeerFeedback(tr.topics[e.topic], p, e.kind)
	case opSetTopic:
		if err := s.SetTopicParams(tr.topics[e.topic], e.params); err != nil {
			panic(err) // the generator only makes valid parameters
		}
	}
}
