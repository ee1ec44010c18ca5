//go:build unix

package peerscore_test

// End-to-end router throughput: messages per second through a small local
// GossipSub network whose routers score natively (pubsub's own scorer) or
// with peerscore plugged in (GossipSubOptions, same parameters and
// thresholds), plus an unscored network for scale.
//
// The network is go-libp2p's mocknet: in-memory connections without latency
// or bandwidth limits, on the real clock (its streams refuse deadlines,
// which pubsub sets, so deadlineHost hands pubsub streams that accept them).
// Throughput is then bound by CPU, the thing the scorer costs, and not by a
// link: testnet's simulated QUIC links are 20 Mbit/s and add encryption, and
// under synctest their clock is fake, so messages per second would measure
// the simulation. Every node publishes in turn, as fast as the
// network delivers: at most routerBenchWindow messages are in flight, so that
// no queue overflows and no message needs gossip to arrive, and a message is
// done when every node's subscription has it. Messages are unsigned and
// validated by an accept-all inline validator, so every copy goes through the
// validation pipeline (and the tracer's ValidateMessage) but the CPU goes to
// routing and scoring rather than signatures; set PEERSCORE_ROUTERBENCH_SIGNED=1
// to sign them (with Ed25519 keys) as pubsub does by default.
//
// Metrics: msgs/s (published messages delivered to every node, per second of
// wall time), deliveries/s (the same times the number of nodes) and
// cpu-us/msg (process CPU time per message, user and system, which is less
// sensitive than wall time to other load on the machine).
//
// The recorder arms put a replay.Recorder (what a node runs to replay its
// traffic later) on every node of a peerscore network, wired as a node
// wires it (beside the scorer, with the host and the router's message ID
// function), writing its gzip'd files to a temporary directory: what
// recording costs a node, messages per second with the recorder on
// against off.

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/replay"
)

const (
	routerBenchNodes   = 8
	routerBenchWindow  = 32  // messages in flight at most
	routerBenchPayload = 256 // bytes per message
	routerBenchIDLen   = 16  // the payload starts with a unique ID of this length
	routerBenchChunk   = 100 // messages per turn in the interleaved ratio run
)

func routerBenchThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             -10,
		PublishThreshold:            -50,
		GraylistThreshold:           -80,
		AcceptPXThreshold:           100,
		OpportunisticGraftThreshold: 1,
	}
}

// routerBenchGossipSubParams are pubsub's defaults with a mesh of every
// other node (D = D_lo = D_hi = 7). With the default D=6 each router picks
// 6 of its 7 peers at random, so that every network built routes (and
// duplicates) differently, a difference between two networks of the same
// kind that has nothing to do with scoring; a full mesh routes every message
// the same way in every network, each node receiving seven copies.
func routerBenchGossipSubParams() pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	p.D, p.Dlo, p.Dhi = routerBenchNodes-1, routerBenchNodes-1, routerBenchNodes-1
	return p
}

// routerBenchMsgID takes a message's ID from the start of its payload, for
// unsigned messages, which have no author and sequence number.
func routerBenchMsgID(m *pb.Message) string {
	if len(m.Data) < routerBenchIDLen {
		return string(m.Data)
	}
	return string(m.Data[:routerBenchIDLen])
}

type routerBenchNet struct {
	ctx     context.Context
	cancel  context.CancelFunc
	mn      mocknet.Mocknet
	topics  []*pubsub.Topic
	meshes  []*meshWatch
	scorers []*peerscore.Scorer
	recs    []*replay.Recorder // the recorder mode's
	recDir  string             // their files
	wg      sync.WaitGroup

	delivered atomic.Int64
	progress  chan struct{}
	seq       int
}

func newRouterBenchNet(b *testing.B, mode string) *routerBenchNet {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rn := &routerBenchNet{ctx: ctx, cancel: cancel, mn: mocknet.New(), progress: make(chan struct{}, 1)}
	signed := os.Getenv("PEERSCORE_ROUTERBENCH_SIGNED") == "1"
	params, topicNames := benchPubsubParams(64)
	topic := topicNames[0]
	thr := routerBenchThresholds()

	for i := 0; i < routerBenchNodes; i++ {
		sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		h, err := rn.mn.AddPeer(sk, ma.StringCast(fmt.Sprintf("/ip4/10.1.0.%d/tcp/4001", i+1)))
		if err != nil {
			b.Fatal(err)
		}
		mesh := newMeshWatch()
		opts := []pubsub.Option{
			pubsub.WithGossipSubParams(routerBenchGossipSubParams()),
			pubsub.WithRawTracer(mesh),
			pubsub.WithPeerOutboundQueueSize(1024),
			pubsub.WithValidateQueueSize(1024),
		}
		if !signed {
			opts = append(opts,
				pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
				pubsub.WithMessageIdFn(routerBenchMsgID))
		}
		switch mode {
		case "native":
			p, _ := benchPubsubParams(64)
			opts = append(opts, pubsub.WithPeerScore(p, thr))
		case "peerscore", "recorder":
			sopts := []peerscore.Option{peerscore.WithHost(h), peerscore.WithGossipSubParams(routerBenchGossipSubParams()),
				peerscore.WithThresholds(peerscore.ThresholdsFromPubsub(thr))}
			if !signed {
				sopts = append(sopts, peerscore.WithMsgIDFn(routerBenchMsgID))
			}
			s, err := peerscore.New(peerscore.ParamsFromPubsub(params), sopts...)
			if err != nil {
				b.Fatal(err)
			}
			scoring, err := s.GossipSubOptions()
			if err != nil {
				b.Fatal(err)
			}
			opts = append(opts, scoring...)
			s.Start(ctx)
			rn.scorers = append(rn.scorers, s)
			if mode == "recorder" {
				// Started with the scorer, just before the router, as a
				// node starts it.
				ropts := []replay.RecorderOption{replay.WithHost(h)}
				if !signed {
					ropts = append(ropts, replay.WithMsgIDFn(routerBenchMsgID))
				}
				// Not b.TempDir, which goes with the run of b that built
				// the network, before the next run that uses it.
				if rn.recDir == "" {
					if rn.recDir, err = os.MkdirTemp("", "routerbench-recordings-"); err != nil {
						b.Fatal(err)
					}
				}
				rec, err := replay.NewRecorder(filepath.Join(rn.recDir, fmt.Sprint(i)), h.ID(), ropts...)
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, pubsub.WithRawTracer(rec))
				rn.recs = append(rn.recs, rec)
			}
		case "unscored":
		default:
			b.Fatalf("unknown mode %q", mode)
		}
		ps, err := pubsub.NewGossipSub(ctx, deadlineHost{h}, opts...)
		if err != nil {
			b.Fatal(err)
		}
		accept := func(context.Context, peer.ID, *pubsub.Message) pubsub.ValidationResult {
			return pubsub.ValidationAccept
		}
		if err := ps.RegisterTopicValidator(topic, accept, pubsub.WithValidatorInline(true)); err != nil {
			b.Fatal(err)
		}
		t, err := ps.Join(topic)
		if err != nil {
			b.Fatal(err)
		}
		sub, err := t.Subscribe(pubsub.WithBufferSize(1024))
		if err != nil {
			b.Fatal(err)
		}
		rn.wg.Go(func() { rn.drain(sub) })
		rn.topics = append(rn.topics, t)
		rn.meshes = append(rn.meshes, mesh)
	}
	if err := rn.mn.LinkAll(); err != nil {
		b.Fatal(err)
	}
	hosts := rn.mn.Hosts()
	for i := range hosts {
		for j := i + 1; j < len(hosts); j++ {
			if _, err := rn.mn.ConnectPeers(hosts[i].ID(), hosts[j].ID()); err != nil {
				b.Fatal(err)
			}
		}
	}
	rn.awaitMesh(b)
	// warm up: P3 activation, delivery records, every queue and buffer
	rn.send(b, 200)
	for _, s := range rn.scorers {
		// the scorer is plugged in: it sees the peers and the messages
		if st := s.Stats(); st.Peers != routerBenchNodes-1 || st.DeliveryRecords < 150 { // 175: all but its own
			b.Fatalf("scorer not plugged in: %d peers, %d delivery records", st.Peers, st.DeliveryRecords)
		}
	}
	for _, rec := range rn.recs {
		if st := rec.Stats(); st.Events == 0 || st.Dropped != 0 {
			b.Fatalf("recorder not plugged in, or dropping: %+v", st)
		}
	}
	return rn
}

func (rn *routerBenchNet) drain(sub *pubsub.Subscription) {
	for {
		if _, err := sub.Next(rn.ctx); err != nil {
			return
		}
		rn.delivered.Add(1)
		select {
		case rn.progress <- struct{}{}:
		default:
		}
	}
}

// awaitMesh waits until every router has every other node in its mesh.
func (rn *routerBenchNet) awaitMesh(b *testing.B) {
	want := routerBenchNodes - 1
	deadline := time.Now().Add(20 * time.Second)
	for {
		ready := true
		for _, w := range rn.meshes {
			w.mu.Lock()
			n := 0
			for _, in := range w.in {
				if in {
					n++
				}
			}
			w.mu.Unlock()
			if n < want {
				ready = false
			}
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("meshes not formed after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// send publishes count messages round-robin from every node, keeping at
// most routerBenchWindow in flight, and returns once every node has them
// all.
func (rn *routerBenchNet) send(b *testing.B, count int) {
	const nodes = int64(routerBenchNodes)
	base := rn.delivered.Load()
	wait := func(until func() bool) {
		for !until() {
			select {
			case <-rn.progress:
			case <-time.After(10 * time.Second):
				b.Fatalf("no delivery for 10s: %d of %d deliveries done",
					rn.delivered.Load()-base, int64(count)*nodes)
			}
		}
	}
	for i := 0; i < count; i++ {
		limit := (int64(i) - routerBenchWindow) * nodes
		wait(func() bool { return rn.delivered.Load()-base >= limit })
		data := make([]byte, routerBenchPayload)
		copy(data, fmt.Sprintf("%0*d", routerBenchIDLen, rn.seq))
		rn.seq++
		if err := rn.topics[i%len(rn.topics)].Publish(rn.ctx, data); err != nil {
			b.Fatal(err)
		}
	}
	wait(func() bool { return rn.delivered.Load()-base >= int64(count)*nodes })
}

func (rn *routerBenchNet) close() {
	rn.cancel()
	for _, s := range rn.scorers {
		_ = s.Close()
	}
	_ = rn.mn.Close()
	rn.wg.Wait()
	for _, rec := range rn.recs {
		_ = rec.Close()
	}
	if rn.recDir != "" {
		_ = os.RemoveAll(rn.recDir)
	}
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRouterThroughput: one op is one message published and delivered
// to all eight nodes. unscored, native, peerscore and recorder each run one
// network; compare their msgs/s (or cpu-us/msg). Run one after the other,
// they drift with whatever else loads the machine, so ratio runs a native
// and a peerscore network side by side, alternates between them every
// routerBenchChunk messages (in ABBA order), and reports peerscore's
// throughput as a fraction of native's: ratio-wall from wall time,
// ratio-cpu from process CPU time, each the median over rounds of the ratio
// between the two back-to-back chunks of the round, which other load on the
// machine affects alike. There one op is one message through each network.
// recorder-ratio does the same for peerscore with the recorder on against
// peerscore alone (ratio-wall: the recorder's throughput as a fraction of
// peerscore's), and reports what the recorders wrote and dropped:
// records (trace events and extras) and bytes per message and node, and
// the records dropped at a full buffer (none expected).
func BenchmarkRouterThroughput(b *testing.B) {
	for _, mode := range []string{"unscored", "native", "peerscore", "recorder"} {
		var rn *routerBenchNet
		b.Run(mode, func(b *testing.B) {
			if rn == nil {
				rn = newRouterBenchNet(b, mode)
			}
			b.ResetTimer()
			cpu := processCPU()
			start := time.Now()
			rn.send(b, b.N)
			elapsed := time.Since(start)
			cpu = processCPU() - cpu
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(b.N*routerBenchNodes)/elapsed.Seconds(), "deliveries/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/msg")
		})
		if rn != nil {
			rn.close()
		}
	}

	for _, arms := range [][2]string{{"native", "peerscore"}, {"peerscore", "recorder"}} {
		name := "ratio"
		if arms[1] == "recorder" {
			name = "recorder-ratio"
		}
		var pair []*routerBenchNet
		b.Run(name, func(b *testing.B) {
			if pair == nil {
				pair = []*routerBenchNet{newRouterBenchNet(b, arms[0]), newRouterBenchNet(b, arms[1])}
			}
			before := recorderTotals(pair[1].recs)
			routerBenchRatio(b, pair, arms)
			if arms[1] == "recorder" {
				after := recorderTotals(pair[1].recs)
				b.ReportMetric(float64(after.Dropped-before.Dropped), "rec-dropped")
				// per message and node: what one node's recording costs
				perNode := float64(b.N * routerBenchNodes)
				b.ReportMetric(float64(after.Events+after.Extras-before.Events-before.Extras)/perNode, "rec-records/msg")
				b.ReportMetric(float64(after.Bytes-before.Bytes)/perNode, "rec-B/msg")
			}
		})
		for _, rn := range pair {
			rn.close()
		}
	}
}

// recorderTotals adds up the recorders' counts.
func recorderTotals(recs []*replay.Recorder) replay.RecorderStats {
	var t replay.RecorderStats
	for _, rec := range recs {
		st := rec.Stats()
		t.Events += st.Events
		t.Extras += st.Extras
		t.Dropped += st.Dropped
		t.Bytes += st.Bytes
	}
	return t
}

// routerBenchRatio alternates b.N messages between the two networks of
// pair (names: their modes) in chunks, and reports each one's msgs/s and
// the second's throughput as a fraction of the first's.
func routerBenchRatio(b *testing.B, pair []*routerBenchNet, names [2]string) {
	var wall, cpu [2]time.Duration
	var wallRatios, cpuRatios []float64
	b.ResetTimer()
	for done, round := 0, 0; done < b.N; round++ {
		n := min(routerBenchChunk, b.N-done)
		var w, c [2]time.Duration
		for k := range pair {
			if round%2 == 1 {
				k = len(pair) - 1 - k
			}
			c0, w0 := processCPU(), time.Now()
			pair[k].send(b, n)
			w[k], c[k] = time.Since(w0), processCPU()-c0
			wall[k] += w[k]
			cpu[k] += c[k]
		}
		wallRatios = append(wallRatios, w[0].Seconds()/w[1].Seconds())
		if c[0] > 0 && c[1] > 0 {
			cpuRatios = append(cpuRatios, c[0].Seconds()/c[1].Seconds())
		}
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/wall[0].Seconds(), names[0]+"-msgs/s")
	b.ReportMetric(float64(b.N)/wall[1].Seconds(), names[1]+"-msgs/s")
	b.ReportMetric(median(wallRatios), "ratio-wall")
	if len(cpuRatios) > 0 {
		b.ReportMetric(median(cpuRatios), "ratio-cpu")
	}
}

// deadlineHost hands pubsub streams that accept deadlines: mocknet's
// streams refuse them, and pubsub drops a peer whose stream does.
type deadlineHost struct{ host.Host }

func (h deadlineHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return deadlineStream{s}, nil
}

func (h deadlineHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, func(s network.Stream) { handler(deadlineStream{s}) })
}

func (h deadlineHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, match, func(s network.Stream) { handler(deadlineStream{s}) })
}

type deadlineStream struct{ network.Stream }

func (deadlineStream) SetDeadline(time.Time) error      { return nil }
func (deadlineStream) SetReadDeadline(time.Time) error  { return nil }
func (deadlineStream) SetWriteDeadline(time.Time) error { return nil }
