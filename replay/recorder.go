package replay

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/peerscore/peerscore/internal/bounded"
	"github.com/peerscore/peerscore/internal/option"
	"github.com/peerscore/peerscore/internal/peerips"
)

// Recorder records what a node's router traces, for a replay to score
// later under other parameters: pubsub's own trace events, in pubsub's
// own protobuf trace format, plus what a scorer sees that the format does
// not carry (Extra). Wire it into the router beside the Scorer, and create
// it when the Scorer starts:
//
//	rec, err := replay.NewRecorder(dir, h.ID(), replay.WithHost(h))
//	scorer, err := peerscore.New(params, peerscore.WithHost(h),
//		peerscore.WithInspect(rec.Scores, time.Minute)) // live scores, for checking a replay
//	scorer.Start(ctx)
//	opts, err := scorer.GossipSubOptions()
//	ps, err := pubsub.NewGossipSub(ctx, h, append(opts, pubsub.WithRawTracer(rec))...)
//	...
//	rec.AppScore(p, v) // whenever the application's score of p (P5) changes
//	...
//	defer rec.Close()
//
// The start extra (written by NewRecorder, or by Start with
// WithManualStart) is the origin from which a replay schedules the
// scorer's periodic work (decay, the router's heartbeats, the minute's
// address refresh), as the live Scorer's Start was: start it with the
// Scorer, just before pubsub.NewGossipSub.
//
// The router calls a raw tracer synchronously, from its event loop and
// its validation goroutines: the Recorder's methods copy what the event
// is made of and queue it for one writer goroutine, which encodes it; the
// queue is bounded in bytes (WithBufferSize), and when it is full the
// event is dropped and counted (Stats), so that the router never waits on
// the disk. The writer writes numbered pairs of files in dir (see Open),
// closes a pair at WithMaxFileSize, and deletes the oldest pairs to keep
// within WithMaxDiskSize. A write error (a full disk) drops the events
// that follow, counted, until a new pair opens.
//
// Timestamps are the wall clock when the Recorder started plus the time
// since, measured on the monotonic clock and taken under the queue's
// lock: the events' order in the files is their time order, and a wall
// clock stepped back (NTP) cannot make the recording's time go back.
//
// A Recorder is safe for concurrent use. One Recorder per directory: two
// at once would count, and delete, each other's pairs.
type Recorder struct {
	self      peer.ID
	cfg       recorderConfig
	epoch     time.Time // with its monotonic reading
	epochNano int64

	mu      sync.Mutex
	queue   []item // waiting for the writer
	queued  int    // their estimated size
	closed  bool
	started bool

	closedFast atomic.Bool   // closed, read without the lock
	wake       chan struct{} // cap 1: the queue passed a high-water mark
	stop       chan struct{}
	done       chan struct{} // the writer has returned

	stats recorderCounters
	w     *writer
}

// Every RawTracer method of pubsub v0.17.0 to v0.19.0, SendRPCCompleted
// (v0.19.0) included: a release that adds a method breaks this line
// rather than the router at run time.
var _ pubsub.RawTracer = (*Recorder)(nil)

// item is one event for the writer, as the router's goroutine leaves it:
// what the event is made of, copied out of the router's structures
// (strings are shared, being immutable; slices are copied), and encoded
// by the writer, so that the router pays for neither pubsub's protobuf
// structs nor their encoding. A trace event carries the extras that go
// right after it: the addresses of a new stream's peer, the backoffs of
// an RPC's PRUNEs, its extensions message.
type item struct {
	at    int64
	kind  itemKind
	flags itemFlags
	peer  peer.ID // the peer it concerns (a message's: who sent it)
	id    string  // a message ID
	topic optString
	text  string  // ON_NEW_OUTBOUND_STREAM: the protocol; REJECT_MESSAGE: the reason
	rpc   *rpcSum // RPC events
	more  *itemMore
	size  int32 // estimated, for the buffer's bound
}

// itemMore is what only a few kinds of item carry, kept out of the items
// the router queues by the thousand.
type itemMore struct {
	ips      []string // the peer's addresses (addrs)
	backoffs []uint64 // the RPC's PRUNEs' backoffs
	score    float64  // KindApp
	took     time.Duration
	scores   map[string]float64
}

type itemFlags uint8

const (
	flagAddrs    itemFlags = 1 << iota // the peer's addresses follow (more.ips)
	flagBackoffs                       // the RPC's PRUNEs' backoffs follow (more.backoffs)
	flagExt                            // the RPC carried an extensions message
	flagPoll                           // the address poll's
)

func (it *item) has(f itemFlags) bool { return it.flags&f != 0 }

// itemKind is a trace event type (0 to 12, pubsub's TraceEvent_Type) or an
// extra on its own.
type itemKind uint8

const (
	itemStart itemKind = 100 + iota
	itemValidate
	itemThrottle
	itemWrite
	itemApp
	itemScores
	itemAddrs // the address poll's
)

// extraKinds are the Extra kinds of the items that are extras on their
// own.
var extraKinds = map[itemKind]ExtraKind{
	itemStart: KindStart, itemValidate: KindValidate, itemThrottle: KindThrottle, itemWrite: KindWrite,
	itemApp: KindApp, itemScores: KindScores, itemAddrs: KindAddrs,
}

func (k itemKind) isTrace() bool { return k <= itemKind(pb.TraceEvent_PRUNE) }

// optString is a proto2 optional string: pubsub's trace tells a field that
// is absent from an empty one, and so does the recording.
type optString struct {
	s  string
	ok bool
}

func optOf(p *string) optString {
	if p == nil {
		return optString{}
	}
	return optString{*p, true}
}

func opt(s string) optString { return optString{s, true} }

// rpcSum is what pubsub's trace keeps of an RPC (its RPCMeta): the IDs
// and topics of its messages, its subscriptions, and its control
// messages' topics, IDs and peers.
type rpcSum struct {
	msgs []msgSum
	subs []subSum
	ctl  *ctlSum   // nil: the RPC has no control message
	one  [1]msgSum // msgs of an RPC of one message (most), without an allocation of its own
}

type msgSum struct {
	id    string
	topic optString
}

type subSum struct {
	subscribe, hasSubscribe bool
	topic                   optString
}

type ctlSum struct {
	ihave     []ihaveSum
	iwant     [][]string
	graft     []optString
	prune     []pruneSum
	idontwant [][]string
}

type ihaveSum struct {
	topic optString
	ids   []string
}

type pruneSum struct {
	topic optString
	peers []string // the PX peers' IDs, as bytes
}

// itemBase is what an item costs in the buffer beyond its strings and
// slices: the item itself, in the queue.
const itemBase = 128

// NewRecorder starts a recording of the router of the node self in dir
// (created if need be). Pairs already in dir (a node restarted) are kept,
// counted against the disk bound, and followed by new numbers; it writes
// the start extra now unless WithManualStart.
func NewRecorder(dir string, self peer.ID, opts ...RecorderOption) (*Recorder, error) {
	cfg := defaultRecorderConfig()
	if err := option.Apply("peerscore/replay", &cfg, opts); err != nil {
		return nil, err
	}
	if cfg.maxDisk < cfg.maxFile {
		return nil, errorf("WithMaxDiskSize (%d bytes) below WithMaxFileSize (%d bytes): not one pair would fit", cfg.maxDisk, cfg.maxFile)
	}
	now := time.Now()
	r := &Recorder{
		self: self, cfg: cfg,
		epoch: now, epochNano: now.UnixNano(),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	w, err := newWriter(r, dir)
	if err != nil {
		return nil, err
	}
	r.w = w
	go w.run()
	if !cfg.manualStart {
		r.Start()
	}
	return r, nil
}

// Start records the start extra: the Scorer starts now. NewRecorder calls
// it unless WithManualStart; only the first call does anything.
func (r *Recorder) Start() {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return
	}
	r.started = true
	r.mu.Unlock()
	r.enqueue(item{kind: itemStart, size: itemBase})
}

// Close writes what is buffered, closes the files and stops the writer.
// It returns the first error writing met (also in Stats). It may be
// called any number of times; afterwards every method does nothing.
func (r *Recorder) Close() error {
	r.mu.Lock()
	first := !r.closed
	r.closed = true
	r.closedFast.Store(true)
	r.mu.Unlock()
	if first {
		close(r.stop)
	}
	<-r.done
	return r.stats.firstErr()
}

// now is the recording's clock: the wall clock at NewRecorder plus the
// monotonic time since.
func (r *Recorder) now() int64 {
	return r.epochNano + int64(time.Since(r.epoch))
}

// enqueue hands it to the writer, or drops it when the buffer is full.
// The timestamp is taken under the lock, so that the file order is the
// time order.
func (r *Recorder) enqueue(it item) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	if r.queued+int(it.size) > r.cfg.buffer {
		r.mu.Unlock()
		r.stats.dropped.Add(it.records())
		return
	}
	it.at = r.now()
	r.queue = append(r.queue, it)
	r.queued += int(it.size)
	// The writer drains the queue every drainInterval; it is woken
	// earlier only when the queue passes an eighth of the buffer, so that
	// a busy router does not pay a goroutine wake-up per event.
	mark := r.cfg.buffer / 8
	wake := r.queued >= mark && r.queued-int(it.size) < mark
	r.mu.Unlock()
	if wake {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// take gives the writer what is queued, and the writer's last batch (its
// backing array) becomes the next queue: two slices in turn, whatever the
// rate.
func (r *Recorder) take(spare []item) []item {
	r.mu.Lock()
	defer r.mu.Unlock()
	batch := r.queue
	r.queue = spare[:0]
	r.queued = 0
	return batch
}

// records is how many records it makes, for the drop count.
func (it *item) records() uint64 {
	n := uint64(1)
	if it.kind.isTrace() {
		for _, f := range [...]itemFlags{flagAddrs, flagBackoffs, flagExt} {
			if it.has(f) {
				n++
			}
		}
	}
	return n
}

// msgID is the message's ID: the router's (msg.ID, set before it traces
// the message), or WithMsgIDFn's. msg is not written to: the router
// shares it.
func (r *Recorder) msgID(msg *pubsub.Message) string {
	if msg.ID != "" || msg.Message == nil {
		return msg.ID
	}
	return r.cfg.msgID(msg.Message)
}

// isClosed spares a closed Recorder the work of building an event
// (enqueue checks again, under the lock).
func (r *Recorder) isClosed() bool { return r.closedFast.Load() }

// OnNewOutboundStream records the new stream, and the peer's addresses
// (WithHost), read now as the Scorer reads them.
func (r *Recorder) OnNewOutboundStream(p peer.ID, proto protocol.ID) {
	if r.isClosed() {
		return
	}
	it := item{kind: itemKind(pb.TraceEvent_ON_NEW_OUTBOUND_STREAM), peer: p, text: string(proto), size: itemBase}
	if h := r.cfg.host; h != nil {
		ips := peerips.Of(h, p)
		it.flags, it.more = flagAddrs, &itemMore{ips: ips}
		it.size += int32(64 * len(ips))
	}
	r.enqueue(it)
}

// OnClosedOutboundStream records the stream's closing.
func (r *Recorder) OnClosedOutboundStream(p peer.ID) {
	r.enqueue(item{kind: itemKind(pb.TraceEvent_ON_CLOSED_OUTBOUND_STREAM), peer: p, size: itemBase})
}

// Join records that the router joined topic.
func (r *Recorder) Join(topic string) {
	r.enqueue(item{kind: itemKind(pb.TraceEvent_JOIN), topic: opt(topic), size: itemBase})
}

// Leave records that the router left topic.
func (r *Recorder) Leave(topic string) {
	r.enqueue(item{kind: itemKind(pb.TraceEvent_LEAVE), topic: opt(topic), size: itemBase})
}

// Graft records that p joined the router's mesh of topic.
func (r *Recorder) Graft(p peer.ID, topic string) {
	r.enqueue(item{kind: itemKind(pb.TraceEvent_GRAFT), peer: p, topic: opt(topic), size: itemBase})
}

// Prune records that p left the router's mesh of topic.
func (r *Recorder) Prune(p peer.ID, topic string) {
	r.enqueue(item{kind: itemKind(pb.TraceEvent_PRUNE), peer: p, topic: opt(topic), size: itemBase})
}

// message records an event about msg.
func (r *Recorder) message(kind itemKind, msg *pubsub.Message, reason string) {
	if msg == nil || r.isClosed() {
		return
	}
	it := item{kind: kind, peer: msg.ReceivedFrom, id: r.msgID(msg), text: reason, size: itemBase}
	if msg.Message != nil {
		it.topic = optOf(msg.Message.Topic)
	}
	r.enqueue(it)
}

// ValidateMessage records that a message entered validation (an extra:
// pubsub's trace has no such event).
func (r *Recorder) ValidateMessage(msg *pubsub.Message) { r.message(itemValidate, msg, "") }

// DeliverMessage records a delivered message.
func (r *Recorder) DeliverMessage(msg *pubsub.Message) {
	r.message(itemKind(pb.TraceEvent_DELIVER_MESSAGE), msg, "")
}

// RejectMessage records a rejected (or ignored) message and why.
func (r *Recorder) RejectMessage(msg *pubsub.Message, reason string) {
	r.message(itemKind(pb.TraceEvent_REJECT_MESSAGE), msg, reason)
}

// DuplicateMessage records a copy of a message already seen.
func (r *Recorder) DuplicateMessage(msg *pubsub.Message) {
	r.message(itemKind(pb.TraceEvent_DUPLICATE_MESSAGE), msg, "")
}

// ThrottlePeer records that the router's peer gater throttled p.
func (r *Recorder) ThrottlePeer(p peer.ID) {
	r.enqueue(item{kind: itemThrottle, peer: p, size: itemBase})
}

// RecvRPC records an RPC received, with the backoffs of its PRUNEs and
// whether it carried an extensions message.
func (r *Recorder) RecvRPC(rpc *pubsub.RPC) {
	if rpc != nil {
		r.rpcEvent(itemKind(pb.TraceEvent_RECV_RPC), rpc, rpc.From(), true)
	}
}

// SendRPC records an RPC queued for p, with the backoffs of its PRUNEs.
func (r *Recorder) SendRPC(rpc *pubsub.RPC, p peer.ID) {
	r.rpcEvent(itemKind(pb.TraceEvent_SEND_RPC), rpc, p, false)
}

// DropRPC records an RPC for p that the router dropped (its queue to p
// was full), with the backoffs of its PRUNEs.
func (r *Recorder) DropRPC(rpc *pubsub.RPC, p peer.ID) {
	r.rpcEvent(itemKind(pb.TraceEvent_DROP_RPC), rpc, p, false)
}

func (r *Recorder) rpcEvent(kind itemKind, rpc *pubsub.RPC, p peer.ID, recv bool) {
	if rpc == nil || r.isClosed() {
		return
	}
	sum, size := r.summarise(rpc)
	it := item{kind: kind, peer: p, rpc: sum, size: int32(min(size, math.MaxInt32))}
	if prunes := rpc.Control.GetPrune(); len(prunes) > 0 {
		backoffs := make([]uint64, len(prunes))
		for i, pr := range prunes {
			backoffs[i] = pr.GetBackoff() // 0 when it has none
		}
		it.flags, it.more = flagBackoffs, &itemMore{backoffs: backoffs}
		it.size += int32(8 * len(prunes))
	}
	if recv && rpc.Control.GetExtensions() != nil {
		it.flags |= flagExt
	}
	r.enqueue(it)
}

// SendRPCCompleted records how long a write to p's stream took (pubsub
// v0.19.0 on; called from the writing goroutines).
func (r *Recorder) SendRPCCompleted(_ *pubsub.RPC, p peer.ID, took time.Duration) {
	r.enqueue(item{kind: itemWrite, peer: p, more: &itemMore{took: took}, size: itemBase})
}

// UndeliverableMessage is not recorded: a subscriber reading too slowly
// is nothing a scorer sees.
func (r *Recorder) UndeliverableMessage(*pubsub.Message) {}

// AppScore records the application's score of p (P5) from now on: call
// it whenever the value the Scorer's AppSpecificScore returns for p
// changes. A NaN is recorded as 0 and an infinity as ±MaxFloat64, as the
// Scorer counts them (JSON has neither).
func (r *Recorder) AppScore(p peer.ID, v float64) {
	r.enqueue(item{kind: itemApp, peer: p, more: &itemMore{score: bounded.Finite(v)}, size: itemBase})
}

// Scores records the live Scorer's scores (a map such as
// peerscore.WithInspect gives its callbacks), for a replay to check
// itself against. The map is copied: the caller may reuse it.
func (r *Recorder) Scores(scores map[peer.ID]float64) {
	if r.isClosed() {
		return
	}
	m := make(map[string]float64, len(scores))
	for p, v := range scores {
		m[p.String()] = bounded.Finite(v)
	}
	r.enqueue(item{kind: itemScores, more: &itemMore{scores: m}, size: int32(min(itemBase+96*len(m), math.MaxInt32))})
}

// summarise keeps what pubsub's trace keeps of rpc (RPCMeta), and
// estimates what it costs in the buffer. The message IDs are computed
// here (WithMsgIDFn): the writer could not, as the messages are the
// router's.
func (r *Recorder) summarise(rpc *pubsub.RPC) (*rpcSum, int) {
	sum := &rpcSum{}
	size := itemBase + 64
	if n := len(rpc.Publish); n == 1 {
		sum.msgs = sum.one[:0]
	} else if n > 1 {
		sum.msgs = make([]msgSum, 0, n)
	}
	if len(rpc.Publish) > 0 {
		for _, m := range rpc.Publish {
			if m != nil {
				id := r.cfg.msgID(m)
				sum.msgs = append(sum.msgs, msgSum{id: id, topic: optOf(m.Topic)})
				size += 40 + len(id)
			}
		}
	}
	if n := len(rpc.Subscriptions); n > 0 {
		sum.subs = make([]subSum, 0, n)
		for _, s := range rpc.Subscriptions {
			if s != nil {
				sum.subs = append(sum.subs, subSum{subscribe: s.GetSubscribe(), hasSubscribe: s.Subscribe != nil, topic: optOf(s.Topicid)})
				size += 32
			}
		}
	}
	c := rpc.Control
	if c == nil {
		return sum, size
	}
	ctl := &ctlSum{}
	size += 128
	for _, ih := range c.Ihave {
		if ih != nil {
			ctl.ihave = append(ctl.ihave, ihaveSum{topic: optOf(ih.TopicID), ids: slices.Clone(ih.MessageIDs)})
			size += 48 + 16*len(ih.MessageIDs)
		}
	}
	for _, iw := range c.Iwant {
		if iw != nil {
			ctl.iwant = append(ctl.iwant, slices.Clone(iw.MessageIDs))
			size += 24 + 16*len(iw.MessageIDs)
		}
	}
	for _, g := range c.Graft {
		if g != nil {
			ctl.graft = append(ctl.graft, optOf(g.TopicID))
			size += 24
		}
	}
	for _, p := range c.Prune {
		if p == nil {
			continue
		}
		ps := pruneSum{topic: optOf(p.TopicID)}
		for _, pi := range p.Peers {
			if pi != nil {
				ps.peers = append(ps.peers, string(pi.PeerID))
				size += 16 + len(pi.PeerID)
			}
		}
		ctl.prune = append(ctl.prune, ps)
		size += 48
	}
	for _, d := range c.Idontwant {
		if d != nil {
			ctl.idontwant = append(ctl.idontwant, slices.Clone(d.MessageIDs))
			size += 24 + 16*len(d.MessageIDs)
		}
	}
	sum.ctl = ctl
	return sum, size
}

// RecorderStats are a Recorder's counts since NewRecorder.
type RecorderStats struct {
	// Events and Extras are the trace events and extras written.
	Events, Extras uint64
	// Dropped are the events and extras lost: the buffer was full, or the
	// files could not be written (Err).
	Dropped uint64
	// Bytes were written to the files (compressed, with gzip on).
	Bytes uint64
	// Files is the number of pairs of files in the directory now, the one
	// being written included; DiskBytes their size.
	Files     int
	DiskBytes int64
	// Deleted is the number of pairs deleted to keep within the disk
	// bound.
	Deleted uint64
	// Err is the last error writing met, nil if none.
	Err error
}

// Stats returns the Recorder's counts. Safe at any time, Close included.
func (r *Recorder) Stats() RecorderStats {
	c := &r.stats
	return RecorderStats{
		Events: c.events.Load(), Extras: c.extras.Load(), Dropped: c.dropped.Load(),
		Bytes: c.bytes.Load(), Files: int(c.files.Load()), DiskBytes: c.disk.Load(),
		Deleted: c.deleted.Load(), Err: c.lastErr(),
	}
}

type recorderCounters struct {
	events, extras, dropped, bytes, deleted atomic.Uint64
	files, disk                             atomic.Int64

	errMu      sync.Mutex
	first, err error
}

func (c *recorderCounters) setErr(err error) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.first == nil {
		c.first = err
	}
	c.err = err
}

func (c *recorderCounters) lastErr() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

func (c *recorderCounters) firstErr() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.first
}
