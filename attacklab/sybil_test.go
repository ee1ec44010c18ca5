package attacklab

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/bubble"
	"github.com/peerscore/peerscore/internal/rawpeer"
)

// The Sybil's tests run it on a lab host (mockNet, the lab's own streams)
// against raw peers, probes, that record every RPC and stream that reaches
// them, and once against a real GossipSub router. Everything they check is
// seen on the wire.

const (
	benchSybilEgress = 10 * time.Millisecond
	benchProbeEgress = 30 * time.Millisecond
	// settle is long enough for an RPC to land, be answered, and the
	// answer to land.
	settle = time.Second
)

type sybilBench struct {
	t     *testing.T
	net   *mockNet
	syb   *sybil
	stats *sybilStats
	hosts int
}

// newSybilBench starts a Sybil that attacks with drop and censors the
// messages of censored ("" for none).
func newSybilBench(t *testing.T, drop float64, censored peer.ID) *sybilBench {
	t.Helper()
	b := &sybilBench{t: t, net: newMockNet(), stats: new(sybilStats)}
	b.syb = newSybil(b.host(benchSybilEgress), drop, censored, 1, b.stats)
	return b
}

func (b *sybilBench) host(egress time.Duration) host.Host {
	b.t.Helper()
	b.hosts++
	h, err := b.net.addHost(ipOf(b.hosts), 4001, egress)
	if err != nil {
		b.t.Fatal(err)
	}
	return h
}

// close stops the network and the Sybil and lets their goroutines end.
// The network goes first, so that a Sybil stuck in a write (as one that
// failed a test may be) is freed to stop.
func (b *sybilBench) close() {
	b.net.close()
	b.syb.stop()
	time.Sleep(drainTime)
}

// probe is a raw peer the Sybil has dialled, as Sybils dial honest nodes.
type probe struct {
	b       *sybilBench
	h       host.Host
	raw     *rawpeer.Peer
	rpcs    chan received       // what the Sybil sent it
	streams chan network.Stream // the streams opened to it
}

type received struct {
	rpc *pb.RPC
	at  time.Time
}

func (b *sybilBench) probe() *probe {
	b.t.Helper()
	p := &probe{b: b, h: b.host(benchProbeEgress), rpcs: make(chan received, 4096), streams: make(chan network.Stream, 16)}
	p.raw = rawpeer.New(p.h, func(_ peer.ID, rpc *pb.RPC) { p.rpcs <- received{rpc: rpc, at: time.Now()} },
		rawpeer.WithProtocol(sybilProtocol), // what routers settle on with the Sybil
		rawpeer.WithOnStream(func(s network.Stream) error { p.streams <- s; return nil }))
	if err := b.net.connect(context.Background(), b.syb.h, p.h); err != nil {
		b.t.Fatal(err)
	}
	return p
}

func (b *sybilBench) probes(n int) []*probe {
	ps := make([]*probe, n)
	for i := range ps {
		ps[i] = b.probe()
	}
	return ps
}

// send sends rpc to the Sybil on p's stream, opening it on first use.
func (p *probe) send(rpc *pb.RPC) {
	p.b.t.Helper()
	if err := p.raw.Send(p.b.syb.h.ID(), rpc); err != nil {
		p.b.t.Fatalf("probe: %v", err)
	}
}

func (p *probe) publish(msgs ...*pb.Message) { p.send(&pb.RPC{Publish: msgs}) }

// take returns what reached p since the last take.
func (p *probe) take() []received {
	var got []received
	for {
		select {
		case r := <-p.rpcs:
			got = append(got, r)
		default:
			return got
		}
	}
}

// join has p SUBSCRIBE and takes the Sybil's answer.
func (p *probe) join() {
	p.b.t.Helper()
	p.send(rawpeer.Subscribe(Topic))
	time.Sleep(settle)
	if got := p.take(); len(got) != 1 || !isSubscribeGraft(got[0].rpc) {
		p.b.t.Fatalf("the Sybil answered a SUBSCRIBE with %v, want one SUBSCRIBE+GRAFT", got)
	}
}

// graft has p GRAFT, which the Sybil does not answer.
func (p *probe) graft() {
	p.b.t.Helper()
	p.send(rawpeer.Graft(Topic))
	time.Sleep(settle)
	if got := p.take(); len(got) != 0 {
		p.b.t.Fatalf("the Sybil answered a GRAFT with %v", got)
	}
}

func isSubscribeGraft(rpc *pb.RPC) bool {
	subs, ctl := rpc.GetSubscriptions(), rpc.GetControl()
	return len(subs) == 1 && subs[0].GetSubscribe() && subs[0].GetTopicid() == Topic &&
		len(rpc.GetPublish()) == 0 && isGraftOnly(ctl)
}

func isGraft(rpc *pb.RPC) bool {
	return len(rpc.GetSubscriptions()) == 0 && len(rpc.GetPublish()) == 0 && isGraftOnly(rpc.GetControl())
}

func isGraftOnly(ctl *pb.ControlMessage) bool {
	return ctl != nil && len(ctl.GetGraft()) == 1 && ctl.GetGraft()[0].GetTopicID() == Topic &&
		len(ctl.GetPrune()) == 0 && len(ctl.GetIhave()) == 0 && len(ctl.GetIwant()) == 0
}

// msgKey names a message: its originator and sequence number.
type msgKey struct {
	origin peer.ID
	seq    uint64
}

func (k msgKey) String() string { return fmt.Sprintf("%s/%d", k.origin, k.seq) }

// msg returns message seq of origin in the lab's topic.
func msg(origin peer.ID, seq uint64) *pb.Message {
	topic := Topic
	return &pb.Message{From: []byte(origin), Seqno: binary.BigEndian.AppendUint64(nil, seq),
		Data: []byte("payload"), Topic: &topic}
}

// forwards returns the messages in got, in order, failing on any RPC that
// is not one forwarded message (the Sybil forwards each in an RPC of its
// own, badboy.go:336).
func forwards(t *testing.T, got []received) []msgKey {
	t.Helper()
	var keys []msgKey
	for _, r := range got {
		pub := r.rpc.GetPublish()
		if len(pub) != 1 || r.rpc.GetControl() != nil || len(r.rpc.GetSubscriptions()) != 0 {
			t.Fatalf("an RPC %v where a forwarded message was expected", r.rpc)
		}
		keys = append(keys, msgKey{peer.ID(pub[0].GetFrom()), binary.BigEndian.Uint64(pub[0].GetSeqno())})
	}
	return keys
}

func TestSybilOpensAStreamOnlyWhenThePeerDoes(t *testing.T) {
	labTest(t, func() {
		b := newSybilBench(t, 0, "")
		defer b.close()
		a := b.probe()
		time.Sleep(10 * time.Minute)
		if len(a.streams) != 0 || len(a.rpcs) != 0 {
			t.Fatalf("the Sybil opened %d streams and sent %d RPCs to a peer that opened none", len(a.streams), len(a.rpcs))
		}
		// A bare stream, nothing written on it: the Sybil answers it with
		// its own at once, before there is anything to read
		// (badboy.go:126).
		if _, err := a.h.NewStream(context.Background(), b.syb.h.ID(), sybilProtocol); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-a.streams:
			if s.Conn().RemotePeer() != b.syb.h.ID() || s.Protocol() != sybilProtocol {
				t.Errorf("a stream from %s on %s, want the Sybil's on %s", s.Conn().RemotePeer(), s.Protocol(), sybilProtocol)
			}
		case <-time.After(time.Millisecond):
			t.Fatal("the Sybil did not open its stream when the peer opened one")
		}
		time.Sleep(time.Minute)
		if len(a.streams) != 0 || len(a.rpcs) != 0 {
			t.Errorf("%d more streams and %d RPCs to a peer that only opened a stream", len(a.streams), len(a.rpcs))
		}
	})
}

func TestSybilAnswersSubscribeWithSubscribeAndGraftInOneRPC(t *testing.T) {
	labTest(t, func() {
		b := newSybilBench(t, 0, "")
		defer b.close()
		a := b.probe()
		start := time.Now()
		a.send(rawpeer.Subscribe(Topic))
		time.Sleep(settle)
		got := a.take()
		if len(got) != 1 || !isSubscribeGraft(got[0].rpc) {
			t.Fatalf("the answer to a SUBSCRIBE: %v; want one RPC with SUBSCRIBE and GRAFT", got)
		}
		if lag, most := got[0].at.Sub(start), benchProbeEgress+benchSybilEgress+2*jitterMax; lag > most {
			t.Errorf("the answer came %v after the SUBSCRIBE, want the round trip, at most %v", lag, most)
		}
		if g := b.stats.Grafts.Load(); g != 1 {
			t.Errorf("stats count %d GRAFTs, want 1", g)
		}
	})
}

// TestSybilMesh: who gets the messages the Sybil forwards.
func TestSybilMesh(t *testing.T) {
	origin := peer.ID("origin")
	cases := []struct {
		name  string
		setup func(x *probe)
		in    bool
	}{
		{"SUBSCRIBE joins", func(x *probe) { x.join() }, true},
		{"GRAFT joins", func(x *probe) { x.graft() }, true},
		{"a stream alone does not", func(x *probe) { x.send(rawpeer.IHave(Topic, "id")) }, false},
		{"SUBSCRIBE to another topic does not", func(x *probe) { x.send(rawpeer.Subscribe("another")) }, false},
		{"GRAFT to another topic does not", func(x *probe) { x.send(rawpeer.Graft("another")) }, false},
		{"PRUNE leaves", func(x *probe) { x.join(); x.send(rawpeer.Prune(Topic, 60)) }, false},
		{"PRUNE to another topic does not leave", func(x *probe) { x.join(); x.send(rawpeer.Prune("another", 60)) }, true},
		{"UNSUBSCRIBE does not leave (badboy.go:185-191)", func(x *probe) {
			x.join()
			no, topic := false, Topic
			x.send(&pb.RPC{Subscriptions: []*pb.RPC_SubOpts{{Subscribe: &no, Topicid: &topic}}})
		}, true},
		{"PRUNE then GRAFT in one RPC stays (badboy.go:205-215)", func(x *probe) {
			rpc := rawpeer.Prune(Topic, 60)
			rpc.Control.Graft = rawpeer.Graft(Topic).Control.Graft
			x.send(rpc)
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			labTest(t, func() {
				b := newSybilBench(t, 0, "")
				defer b.close()
				x, sender := b.probe(), b.probe()
				sender.graft()
				c.setup(x)
				time.Sleep(settle)
				x.take()
				sender.publish(msg(origin, 1))
				time.Sleep(settle)
				want := 0
				if c.in {
					want = 1
				}
				if got := forwards(t, x.take()); len(got) != want {
					t.Errorf("forwarded to the peer: %v; want %d message", got, want)
				}
			})
		})
	}
}

func TestSybilForwardsEachNewMessageOnceToAllButSenderAndOriginator(t *testing.T) {
	labTest(t, func() {
		b := newSybilBench(t, 0, "")
		defer b.close()
		// More mesh peers than any gossipsub degree (Dhi 12): no limit.
		peers := b.probes(16)
		for i, p := range peers {
			if i%2 == 0 {
				p.join()
			} else {
				p.graft()
			}
		}
		sender, orig := peers[0], peers[1]
		m := msg(orig.h.ID(), 7)
		sender.publish(m)
		time.Sleep(settle)
		want := []msgKey{{orig.h.ID(), 7}}
		for i, p := range peers {
			got := forwards(t, p.take())
			switch {
			case p == sender && len(got) != 0:
				t.Errorf("forwarded back to its sender: %v", got)
			case p == orig && len(got) != 0:
				t.Errorf("forwarded to its originator: %v", got)
			case p != sender && p != orig && !slices.Equal(got, want):
				t.Errorf("peer %d got %v, want %v once", i, got, want)
			}
		}
		// The same message again, from a peer it went to and from the
		// sender: seen, so not forwarded.
		peers[2].publish(m)
		sender.publish(m)
		time.Sleep(settle)
		for i, p := range peers {
			if got := p.take(); len(got) != 0 {
				t.Errorf("peer %d got %d more RPCs for a message already seen", i, len(got))
			}
		}
		// A message of another topic: the suite forwards a message to the
		// mesh of its topic (badboy.go:171-174), and the Sybil has none.
		another := "another"
		sender.publish(&pb.Message{From: []byte(orig.h.ID()), Seqno: []byte{8}, Topic: &another})
		time.Sleep(settle)
		for i, p := range peers {
			if got := p.take(); len(got) != 0 {
				t.Errorf("peer %d got a message of another topic", i)
			}
		}
		if r, f := b.stats.Received.Load(), b.stats.Forwarded.Load(); r != 2 || f != 14 {
			t.Errorf("stats: %d received, %d forwarded; want 2 and 14", r, f)
		}
	})
}

// TestSybilSeenCacheExpiry: the suite's timecache (cfcb2f1) forgets a
// message only when a new one is added more than two minutes after it.
// So a message that comes again after two minutes is forwarded again if
// another message came in between, after the two minutes, and not
// otherwise. (Honest routers' own seen caches are two minutes too.)
func TestSybilSeenCacheExpiry(t *testing.T) {
	cases := []struct {
		name    string
		between []time.Duration // other messages, after the first
		again   time.Duration   // the first message again
		forward bool
	}{
		{"before two minutes", []time.Duration{30 * time.Second, 118 * time.Second}, 119 * time.Second, false},
		{"after two minutes, nothing new since", []time.Duration{30 * time.Second}, 121 * time.Second, false},
		{"after two minutes, nothing new at all", nil, 10 * time.Minute, false},
		{"after two minutes, a new message since", []time.Duration{105 * time.Second, 120*time.Second + 500*time.Millisecond}, 121 * time.Second, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			labTest(t, func() {
				b := newSybilBench(t, 0, "")
				defer b.close()
				sender, again, to := b.probe(), b.probe(), b.probe()
				sender.graft()
				again.graft()
				to.graft()
				origin := peer.ID("origin")
				start := time.Now()
				sender.publish(msg(origin, 0))
				for i, at := range c.between {
					time.Sleep(time.Until(start.Add(at)))
					sender.publish(msg(origin, uint64(i+1)))
				}
				time.Sleep(time.Until(start.Add(c.again)))
				to.take()
				again.publish(msg(origin, 0))
				time.Sleep(settle)
				got := forwards(t, to.take())
				if c.forward != (len(got) == 1) || len(got) > 1 {
					t.Errorf("the first message again at %v: forwarded %v, want forwarded %t", c.again, got, c.forward)
				}
			})
		})
	}
}

// attackSend is a message a sender gives the Sybil at some time.
type attackSend struct {
	at  time.Duration
	key msgKey
}

// runAttack has a sender give the Sybil sends while two other mesh peers
// listen, the Sybil attacking after delay, and returns what each of them
// got.
func runAttack(t *testing.T, drop float64, censored peer.ID, delay time.Duration, sends []attackSend) (a, c []msgKey, stats *sybilStats) {
	b := newSybilBench(t, drop, censored)
	defer b.close()
	sender, pa, pc := b.probe(), b.probe(), b.probe()
	sender.graft()
	pa.graft()
	pc.graft()
	start := time.Now()
	b.syb.attackFrom(delay)
	for _, s := range sends {
		time.Sleep(time.Until(start.Add(s.at)))
		sender.publish(msg(s.key.origin, s.key.seq))
	}
	time.Sleep(settle)
	return forwards(t, pa.take()), forwards(t, pc.take()), b.stats
}

func TestSybilAttack(t *testing.T) {
	censored, other := peer.ID("censored"), peer.ID("other")
	var mixed []attackSend // both publishers, before and after a minute
	for i := range 20 {
		at := time.Duration(i) * 5 * time.Second
		mixed = append(mixed, attackSend{at, msgKey{censored, uint64(i)}}, attackSend{at + time.Second, msgKey{other, uint64(i)}})
	}
	keys := func(sends []attackSend, keep func(attackSend) bool) []msgKey {
		var ks []msgKey
		for _, s := range sends {
			if keep(s) {
				ks = append(ks, s.key)
			}
		}
		return ks
	}
	all := func(attackSend) bool { return true }
	cases := []struct {
		name     string
		drop     float64
		censored peer.ID
		delay    time.Duration
		want     []msgKey
	}{
		{"drop 0 forwards all", 0, "", 0, keys(mixed, all)},
		{"drop 1 forwards none", 1, "", 0, nil},
		{"censor drops the censored publisher's only", 0, censored, 0,
			keys(mixed, func(s attackSend) bool { return s.key.origin != censored })},
		{"before the attack delay everything is forwarded", 1, censored, time.Minute,
			keys(mixed, func(s attackSend) bool { return s.at < time.Minute })},
		{"censoring, before the attack delay", 0, censored, time.Minute,
			keys(mixed, func(s attackSend) bool { return s.at < time.Minute || s.key.origin != censored })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			labTest(t, func() {
				a, cc, stats := runAttack(t, c.drop, c.censored, c.delay, mixed)
				if !slices.Equal(a, c.want) || !slices.Equal(cc, c.want) {
					t.Errorf("forwarded\n  %v and\n  %v;\nwant %v", a, cc, c.want)
				}
				dropped := int64(len(mixed) - len(c.want))
				if r, d := stats.Received.Load(), stats.Dropped.Load(); r != int64(len(mixed)) || d != dropped {
					t.Errorf("stats: %d received, %d dropped; want %d and %d", r, d, len(mixed), dropped)
				}
			})
		})
	}
}

// TestSybilDropsHalfAtDropOneHalf: each message is dropped or forwarded
// to every mesh peer, with probability Drop. The seed is fixed, so the
// count is too; the bounds are the binomial's ±4σ.
func TestSybilDropsHalfAtDropOneHalf(t *testing.T) {
	labTest(t, func() {
		const n = 400
		var sends []attackSend
		for i := range n {
			sends = append(sends, attackSend{time.Duration(i) * 10 * time.Millisecond, msgKey{"other", uint64(i)}})
		}
		a, c, stats := runAttack(t, 0.5, "", 0, sends)
		t.Logf("forwarded %d of %d", len(a), n)
		if !slices.Equal(a, c) {
			t.Fatalf("the mesh peers got different messages (%d and %d): the dice are thrown per copy, not per message", len(a), len(c))
		}
		if len(a) < n/2-40 || len(a) > n/2+40 {
			t.Errorf("forwarded %d of %d at Drop 0.5, want %d±40", len(a), n, n/2)
		}
		if d := stats.Dropped.Load(); d != int64(n-len(a)) {
			t.Errorf("stats count %d dropped, want %d", d, n-len(a))
		}
		early := 0
		for _, k := range a {
			if k.seq < n/4 {
				early++
			}
		}
		if early < n/8-25 || early > n/8+25 {
			t.Errorf("%d of the first %d forwarded, want about half: the drops are not spread", early, n/4)
		}
	})
}

func TestSybilRegraftsAfterPrune(t *testing.T) {
	labTest(t, func() {
		b := newSybilBench(t, 0, "")
		defer b.close()
		sender := b.probe()
		sender.graft()
		pruners := b.probes(16)
		for _, p := range pruners {
			p.join()
		}
		start := time.Now()
		for _, p := range pruners {
			p.send(rawpeer.Prune(Topic, 60))
		}
		time.Sleep(settle)
		sender.publish(msg("origin", 1))
		time.Sleep(58 * time.Second)
		sender.publish(msg("origin", 2))
		time.Sleep(20 * time.Second) // every re-GRAFT is due by 75 s
		sender.publish(msg("origin", 3))
		time.Sleep(settle)

		roundTrip := benchProbeEgress + benchSybilEgress
		first, last := time.Duration(1<<62), time.Duration(0)
		for i, p := range pruners {
			var grafts []time.Duration
			var fwd []received
			for _, r := range p.take() {
				if isGraft(r.rpc) {
					grafts = append(grafts, r.at.Sub(start))
				} else {
					fwd = append(fwd, r)
				}
			}
			if len(grafts) != 1 {
				t.Fatalf("peer %d got %d GRAFTs after its PRUNE, want 1", i, len(grafts))
			}
			g := grafts[0]
			if g < sybilRegraftAfter+roundTrip || g >= sybilRegraftAfter+sybilRegraftJitter+roundTrip+2*jitterMax {
				t.Errorf("peer %d: re-GRAFT %v after its PRUNE, want 60-75 s later", i, g)
			}
			first, last = min(first, g), max(last, g)
			if got := forwards(t, fwd); !slices.Equal(got, []msgKey{{"origin", 3}}) {
				t.Errorf("peer %d got %v, want only the message after its re-GRAFT", i, got)
			}
		}
		if last-first < 5*time.Second {
			t.Errorf("the 16 re-GRAFTs came within %v, want them spread over 15 s", last-first)
		}
		if g, p := b.stats.Grafts.Load(), b.stats.Prunes.Load(); g != 2*16 || p != 16 {
			t.Errorf("stats: %d GRAFTs, %d PRUNEs; want 32 and 16", g, p)
		}
	})
}

// TestSybilQueue: a peer that does not read fills its stream (delayQueue
// unread writes), then its queue of 32; further forwards to it are
// dropped, while another peer gets everything and a GRAFT to the slow
// peer waits for room rather than being dropped.
func TestSybilQueue(t *testing.T) {
	labTest(t, func() {
		b := newSybilBench(t, 0, "")
		defer b.close()
		sender, slow, fast := b.probe(), b.probe(), b.probe()
		sender.graft()
		fast.graft()
		slow.raw.Stall() // reads nothing from the Sybil's stream from the start
		defer slow.raw.Resume()
		slow.graft()
		const n = 300
		sent := make(chan error, 1)
		go func() { // a Sybil that stops reading the sender would hold this up
			for i := range n {
				if err := sender.raw.Send(b.syb.h.ID(), &pb.RPC{Publish: []*pb.Message{msg("origin", uint64(i))}}); err != nil {
					sent <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
			sent <- nil
		}()
		select {
		case err := <-sent:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the sender could not send for a minute: the Sybil stopped reading it while a peer did not read")
		}
		time.Sleep(settle)
		// One write waits for the stream, 32 RPCs behind it
		// (badboy.go:289).
		accepted := delayQueue + 1 + 32
		if d := b.stats.QueueDrops.Load(); d != n-int64(accepted) {
			t.Errorf("%d forwards dropped at a full queue, want %d", d, n-accepted)
		}
		var all []msgKey
		for i := range n {
			all = append(all, msgKey{"origin", uint64(i)})
		}
		if got := forwards(t, fast.take()); !slices.Equal(got, all) {
			t.Errorf("the reading peer got %d of %d messages while the other did not read", len(got), n)
		}
		slow.send(rawpeer.Subscribe(Topic)) // its answer waits for room
		time.Sleep(time.Minute)
		// Reading one RPC makes room for the waiting write, and the writer
		// then takes one RPC off the queue and waits again: the GRAFT gets
		// that place, behind the forwards still queued.
		slow.raw.Resume()
		slow.raw.Stall()
		time.Sleep(settle)
		slow.raw.Resume()
		time.Sleep(settle)
		got := slow.take()
		if len(got) != accepted+1 {
			t.Fatalf("the slow peer got %d RPCs, want the %d accepted and the GRAFT", len(got), accepted)
		}
		if !isSubscribeGraft(got[accepted].rpc) {
			t.Errorf("the last RPC to the slow peer is %v, want the SUBSCRIBE+GRAFT, queued after the forwards", got[accepted].rpc)
		}
		if fwd := forwards(t, got[:accepted]); !slices.Equal(fwd, all[:accepted]) {
			t.Errorf("the slow peer got %v, want the first %d messages in order", fwd, accepted)
		}
		if f := b.stats.Forwarded.Load(); f != int64(n+accepted) {
			t.Errorf("stats count %d forwarded, want %d", f, n+accepted)
		}
	})
}

// TestSybilDropsAPeerWhoseStreamFailed: when a write fails the peer leaves
// the mesh (badboy.go:258-266); the Sybil does not reopen the stream, and
// the peer needs a new stream and a GRAFT to get messages again.
func TestSybilDropsAPeerWhoseStreamFailed(t *testing.T) {
	labTest(t, func() {
		b := newSybilBench(t, 0, "")
		defer b.close()
		sender, a := b.probe(), b.probe()
		sender.graft()
		a.join()
		theirs := <-a.streams
		_ = theirs.Reset()
		sender.publish(msg("origin", 1)) // the write to a fails
		time.Sleep(settle)
		if got := a.take(); len(got) != 0 {
			t.Fatalf("a got %v on a stream it reset", got)
		}
		// A new stream from a: the Sybil opens one back, but a is no longer
		// in its mesh until it GRAFTs.
		s, err := a.h.NewStream(context.Background(), b.syb.h.ID(), sybilProtocol)
		if err != nil {
			t.Fatal(err)
		}
		write := func(rpc *pb.RPC) {
			f, err := rawpeer.Frame(rpc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Write(f); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(settle)
		if len(a.streams) != 1 {
			t.Fatalf("the Sybil opened %d streams to a after a's new one, want 1", len(a.streams))
		}
		sender.publish(msg("origin", 2))
		time.Sleep(settle)
		if got := forwards(t, a.take()); len(got) != 0 {
			t.Fatalf("a, whose stream failed, got %v: still in the mesh", got)
		}
		write(rawpeer.Graft(Topic))
		time.Sleep(settle)
		sender.publish(msg("origin", 3))
		time.Sleep(settle)
		if got := forwards(t, a.take()); !slices.Equal(got, []msgKey{{"origin", 3}}) {
			t.Errorf("after a new stream and a GRAFT, a got %v, want message 3", got)
		}
	})
}

// TestSybilReplacesItsStreamWhenThePeerOpensANewOne: a peer opens a new
// stream when it has given up the old one (pubsub resets an older inbound
// stream of the same peer); the Sybil does the same with its own, and the
// peer stays in its mesh.
func TestSybilReplacesItsStreamWhenThePeerOpensANewOne(t *testing.T) {
	labTest(t, func() {
		b := newSybilBench(t, 0, "")
		defer b.close()
		sender, a := b.probe(), b.probe()
		sender.graft()
		a.join()
		first := <-a.streams
		if _, err := a.h.NewStream(context.Background(), b.syb.h.ID(), sybilProtocol); err != nil {
			t.Fatal(err)
		}
		time.Sleep(settle)
		if len(a.streams) != 1 {
			t.Fatalf("the Sybil opened %d streams for a's second one, want 1", len(a.streams))
		}
		if _, err := first.Write([]byte{0}); err == nil {
			t.Error("the Sybil's first stream to a is still open")
		}
		sender.publish(msg("origin", 1))
		time.Sleep(settle)
		if got := forwards(t, a.take()); !slices.Equal(got, []msgKey{{"origin", 1}}) {
			t.Errorf("a got %v on the new stream, want message 1 once", got)
		}
	})
}

// TestSybilIdleLinksCostNoWriter: a link's writer runs only while its
// queue holds something; the lab holds hundreds of thousands of links.
func TestSybilIdleLinksCostNoWriter(t *testing.T) {
	labTest(t, func() {
		b := newSybilBench(t, 0, "")
		defer b.close()
		peers := b.probes(50)
		for _, p := range peers {
			p.graft()
		}
		peers[0].publish(msg("origin", 1))
		time.Sleep(settle)
		for i, p := range peers[1:] {
			if got := forwards(t, p.take()); len(got) != 1 {
				t.Fatalf("peer %d got %v, want the message", i+1, got)
			}
		}
		if n := goroutinesIn("lab.(*sybil).write("); n != 0 {
			t.Errorf("%d writers still run with every queue empty, want none", n)
		}
	})
}

// goroutinesIn counts the bubble's goroutines with fn on their stack.
func goroutinesIn(fn string) int {
	n := 0
	for _, g := range bubble.Stacks() {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// TestSybilAgainstARouter: a real GossipSub router (pubsub's defaults,
// unscored, with the lab's tracer) meshes with the Sybil, and messages
// cross it both ways.
func TestSybilAgainstARouter(t *testing.T) {
	labTest(t, func() {
		b := newSybilBench(t, 0, "")
		defer b.close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l := newLedger(2)
		n := &honestNode{h: b.host(honestLatencyMin), rec: newRecorder(l, map[peer.ID]int{b.syb.h.ID(): 0})}
		ps, err := pubsub.NewGossipSub(ctx, n.h, pubsub.WithRawTracer(n.rec),
			pubsub.WithMessageSignaturePolicy(pubsub.LaxNoSign)) // as the lab's routers
		if err != nil {
			t.Fatal(err)
		}
		if n.topic, err = ps.Join(Topic); err != nil {
			t.Fatal(err)
		}
		if _, err := n.topic.Subscribe(); err != nil {
			t.Fatal(err)
		}
		a := b.probe()
		a.graft()
		if err := b.net.connect(ctx, b.syb.h, n.h); err != nil {
			t.Fatal(err)
		}
		time.Sleep(settle)
		if _, sybils := n.rec.meshCounts(); sybils != 1 {
			t.Fatal("the router did not put the Sybil in its mesh")
		}
		if b.stats.Grafts.Load() != 1 {
			t.Errorf("the Sybil sent %d GRAFTs, want 1, its answer to the router's SUBSCRIBE", b.stats.Grafts.Load())
		}
		payload := make([]byte, MinMsgSize)
		tag(payload, 0, 0)
		l.published[0].Store(time.Now().UnixNano())
		if err := n.topic.Publish(ctx, payload); err != nil {
			t.Fatal(err)
		}
		time.Sleep(settle)
		got := a.take()
		if len(got) != 1 || len(got[0].rpc.GetPublish()) != 1 ||
			peer.ID(got[0].rpc.GetPublish()[0].GetFrom()) != n.h.ID() || string(got[0].rpc.GetPublish()[0].GetData()) != string(payload) {
			t.Fatalf("a got %v, want the router's message", got)
		}
		tag(payload, 1, 1)
		l.published[1].Store(time.Now().UnixNano())
		topic := Topic
		a.publish(&pb.Message{From: []byte(a.h.ID()), Seqno: binary.BigEndian.AppendUint64(nil, 1), Data: payload, Topic: &topic})
		time.Sleep(settle)
		if l.delivered[1].Load() != 1 {
			t.Error("the router did not get a's message through the Sybil")
		}
	})
}
