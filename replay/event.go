package replay

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
)

// Event is one thing a node's router traced, in the order it traced it: an
// event in pubsub's own trace format, or what a recording adds to it.
// Exactly one of Trace and Extra is set.
type Event struct {
	At    time.Time
	Trace *pb.TraceEvent
	Extra *Extra
}

// Extra is what a recording (Recorder) adds to pubsub's trace: what a
// scorer sees that pubsub's trace format does not carry. A recording
// keeps them in a file beside each trace file, one JSON object per line;
// Seq places each among the trace file's events: it comes after the first
// Seq of them (0: before the first).
type Extra struct {
	Kind ExtraKind `json:"kind"`
	At   int64     `json:"at"` // UnixNano, the clock the trace events' timestamps read
	Seq  uint64    `json:"seq"`
	// Peer is the peer it concerns, as peer.ID's String writes it.
	Peer string `json:"peer,omitempty"`

	IPs      []string           `json:"ips,omitempty"`      // KindAddrs
	Score    float64            `json:"score,omitempty"`    // KindApp
	ID       []byte             `json:"id,omitempty"`       // KindValidate: the message ID
	Topic    string             `json:"topic,omitempty"`    // KindValidate
	Backoffs []uint64           `json:"backoffs,omitempty"` // KindBackoffs: seconds, one per PRUNE of the RPC event, in its order
	Took     time.Duration      `json:"took,omitempty"`     // KindWrite
	Self     string             `json:"self,omitempty"`     // KindStart: the recording node's peer ID
	Router   *RouterTimings     `json:"router,omitempty"`   // KindStart: the router's timings (WithGossipSubParams)
	Scores   map[string]float64 `json:"scores,omitempty"`   // KindScores: the live scores, by peer
}

// RouterTimings are the router's settings that the scorer's rebuilt
// router penalties follow (peerscore.WithGossipSubParams): when its
// heartbeats charge broken promises, how long a promise lasts, and the
// PRUNE backoff a GRAFT must respect. A recording holds them when its
// Recorder was given them (WithGossipSubParams); a replay without them
// takes pubsub's defaults, which a network with another heartbeat
// (Ethereum's 700 ms) does not run.
type RouterTimings struct {
	HeartbeatInterval     time.Duration `json:"heartbeat_interval"`
	HeartbeatInitialDelay time.Duration `json:"heartbeat_initial_delay"`
	IWantFollowupTime     time.Duration `json:"iwant_followup_time"`
	PruneBackoff          time.Duration `json:"prune_backoff"`
	GraftFloodThreshold   time.Duration `json:"graft_flood_threshold"`
}

func timingsOf(gp pubsub.GossipSubParams) *RouterTimings {
	return &RouterTimings{HeartbeatInterval: gp.HeartbeatInterval, HeartbeatInitialDelay: gp.HeartbeatInitialDelay,
		IWantFollowupTime: gp.IWantFollowupTime, PruneBackoff: gp.PruneBackoff, GraftFloodThreshold: gp.GraftFloodThreshold}
}

// apply sets gp's timings to t's.
func (t *RouterTimings) apply(gp *pubsub.GossipSubParams) {
	gp.HeartbeatInterval, gp.HeartbeatInitialDelay = t.HeartbeatInterval, t.HeartbeatInitialDelay
	gp.IWantFollowupTime, gp.PruneBackoff, gp.GraftFloodThreshold = t.IWantFollowupTime, t.PruneBackoff, t.GraftFloodThreshold
}

// ExtraKind says what an Extra records.
type ExtraKind string

// The kinds of Extra.
const (
	// KindStart: the recording began, with the scorer (Recorder.Start);
	// the origin of the scorer's schedule (decay, heartbeats, the minute's
	// work).
	KindStart ExtraKind = "start"
	// KindAddrs: the IP addresses the host reports for Peer, as a scorer
	// counts them for P6 (one per connection; an IPv6 address and its
	// /64): at its stream's opening and whenever they change.
	KindAddrs ExtraKind = "addrs"
	// KindApp: the application's score (P5) of Peer from now on, as given
	// to Recorder.AppScore.
	KindApp ExtraKind = "app"
	// KindValidate: the message ID from Peer entered validation
	// (RawTracer.ValidateMessage, which pubsub does not trace).
	KindValidate ExtraKind = "validate"
	// KindThrottle: the router throttled Peer (RawTracer.ThrottlePeer).
	KindThrottle ExtraKind = "throttle"
	// KindBackoffs: the backoffs of the PRUNEs in the RPC event just
	// before it (pubsub's trace keeps the PRUNEs' topics, not their
	// backoffs).
	KindBackoffs ExtraKind = "backoffs"
	// KindExtensions: the RPC event just before it carried an extensions
	// control message (gossipsub v1.3; not in pubsub's trace).
	KindExtensions ExtraKind = "extensions"
	// KindWrite: a write to Peer's stream took Took
	// (RawTracer.SendRPCCompleted, pubsub v0.19.0 on).
	KindWrite ExtraKind = "write"
	// KindScores: the live scorer's scores at this instant
	// (Recorder.Scores), for a replay to check itself against.
	KindScores ExtraKind = "scores"
)

// Source is a trace or a recording, read as a stream of Events.
type Source interface {
	// Next returns the next event, or io.EOF after the last one.
	Next() (Event, error)
	// Format says what the source is: FormatJSON or FormatProto for one
	// of pubsub's trace files (gzip'd or not), FormatRecording for a
	// Recorder's directory.
	Format() Format
	Close() error
}

// Format is the kind of a Source.
type Format string

// The formats a Source reads.
const (
	FormatJSON      Format = "pubsub JSON trace"     // pubsub.NewJSONTracer
	FormatProto     Format = "pubsub protobuf trace" // pubsub.NewPBTracer
	FormatRecording Format = "peerscore recording"   // Recorder
)
