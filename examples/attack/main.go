// Command attack runs a local network of GossipSub nodes that score their
// peers with peerscore, lets three attackers loose on it, and shows who
// catches whom:
//
//   - a spammer publishes invalid messages (P4),
//   - a liar advertises messages with IHAVE and never sends them (broken
//     IWANT promises, P7),
//   - a silent peer joins meshes and never forwards anything (P3, then P3b).
//
// Every second it prints each attacker's worst score among the honest nodes
// that see it, and the component to blame; at the end, when each attacker
// crossed which threshold and the delivery rate among honest nodes. It
// exits with status 1 if an attacker got away.
//
// The hosts are real go-libp2p hosts talking QUIC over a simulated network
// in this process, so the demo needs no ports and no setup.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/rawpeer"
	"github.com/peerscore/peerscore/internal/scenario"
	"github.com/peerscore/peerscore/internal/testnet"
)

const topicName = scenario.Topic

func main() {
	duration := flag.Duration("duration", 30*time.Second, "how long the attack runs")
	honestCount := flag.Int("honest", 16, "number of honest nodes")
	flag.Parse()
	if *honestCount < 8 {
		log.Fatal("attack: need at least 8 honest nodes")
	}
	d := newDemo()
	defer d.close()
	d.build(*honestCount)
	fmt.Printf("%d honest nodes and 3 attackers on a simulated network; attacking for %v.\n\n", *honestCount, *duration)
	d.run(*duration)
	if !d.verdict() {
		os.Exit(1)
	}
}

var thresholds = scenario.Thresholds()

// expected is the threshold each attacker must end up below for the demo to
// call it caught.
var expected = map[string]string{"spammer": "graylist", "liar": "gossip", "silent": "zero"}

type node struct {
	h      host.Host
	scorer *peerscore.Scorer
	topic  *pubsub.Topic
	mu     sync.Mutex
	got    map[string]bool
}

type attacker struct {
	role      string
	h         host.Host
	observers []*node                  // honest nodes it is connected to
	crossed   map[string]time.Duration // threshold -> when first crossed
}

type demo struct {
	ctx     context.Context // the network's life
	cancel  context.CancelFunc
	traffic sync.WaitGroup // publishers, stopped before the network
	net     *testnet.Network
	honest  []*node
	attack  []*attacker
	liar    *rawpeer.Peer
	spamTo  *pubsub.Topic
	start   time.Time
	sent    []string
	sentMu  sync.Mutex
	workers sync.WaitGroup
}

func newDemo() *demo {
	ctx, cancel := context.WithCancel(context.Background())
	return &demo{ctx: ctx, cancel: cancel, net: testnet.New(2 * time.Millisecond)}
}

func (d *demo) close() {
	d.cancel()
	d.traffic.Wait()
	d.workers.Wait()
	for _, n := range d.honest {
		_ = n.scorer.Close()
	}
	d.net.Close()
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

func (d *demo) build(honestCount int) {
	hosts := make([]host.Host, honestCount)
	for i := range hosts {
		hosts[i] = must(d.net.AddHost(testnet.PublicIP(i+1), 8000))
	}
	spammer := must(d.net.AddHost("66.66.66.66", 8000))
	liar := must(d.net.AddHost("88.88.88.88", 8000))
	silent := must(d.net.AddHost("77.77.77.77", 8000))
	d.net.Start()

	for _, h := range hosts {
		d.honest = append(d.honest, d.honestNode(h))
	}
	for i, h := range hosts {
		for k := 1; k <= 3; k++ {
			d.connect(h, hosts[(i+k)%len(hosts)])
		}
	}
	d.spamTo = d.routerAttacker(spammer, nil)
	d.routerAttacker(silent, scenario.IgnoreAll)
	d.liar = rawpeer.New(liar, nil)

	d.attack = []*attacker{
		d.attacker("spammer", spammer, d.honest[0:4]),
		d.attacker("liar", liar, d.honest[4:8]),
		d.attacker("silent", silent, d.honest[8:14]),
	}
	for _, o := range d.attack[1].observers {
		if err := d.liar.Send(o.h.ID(), rawpeer.Subscribe(topicName)); err != nil {
			log.Fatal(err)
		}
	}
}

func (d *demo) honestNode(h host.Host) *node {
	s := must(peerscore.New(scenario.Params(), peerscore.WithHost(h), peerscore.WithThresholds(thresholds)))
	s.Start(d.ctx)
	opts := must(s.GossipSubOptions())
	ps := must(pubsub.NewGossipSub(d.ctx, h, opts...))
	if err := ps.RegisterTopicValidator(topicName, scenario.RejectBad); err != nil {
		log.Fatal(err)
	}
	n := &node{h: h, scorer: s, topic: must(ps.Join(topicName)), got: map[string]bool{}}
	sub := must(n.topic.Subscribe())
	d.workers.Go(func() {
		for {
			m, err := sub.Next(d.ctx)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.got[string(m.Data)] = true
			n.mu.Unlock()
		}
	})
	return n
}

// routerAttacker runs an unscored GossipSub router on h, validating with v.
func (d *demo) routerAttacker(h host.Host, v pubsub.ValidatorEx) *pubsub.Topic {
	ps := must(pubsub.NewGossipSub(d.ctx, h))
	if v != nil {
		if err := ps.RegisterTopicValidator(topicName, v); err != nil {
			log.Fatal(err)
		}
	}
	t := must(ps.Join(topicName))
	must(t.Subscribe())
	return t
}

func (d *demo) attacker(role string, h host.Host, observers []*node) *attacker {
	for _, o := range observers {
		d.connect(h, o.h)
	}
	return &attacker{role: role, h: h, observers: observers, crossed: map[string]time.Duration{}}
}

func (d *demo) connect(a, b host.Host) {
	if err := testnet.Connect(d.ctx, a, b); err != nil {
		log.Fatal(err)
	}
}

func (d *demo) run(duration time.Duration) {
	time.Sleep(2 * time.Second) // meshes form
	d.start = time.Now()
	traffic, stopTraffic := context.WithCancel(d.ctx)
	d.every(traffic, 100*time.Millisecond, d.publishHonest)
	d.every(traffic, 300*time.Millisecond, d.spam)
	d.every(traffic, 500*time.Millisecond, d.lie)

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.After(duration)
	for {
		select {
		case <-tick.C:
			d.observe()
			d.table()
		case <-end:
			stopTraffic()
			d.traffic.Wait()
			time.Sleep(time.Second) // the last messages land
			d.observe()
			return
		}
	}
}

// every runs fn every interval until ctx ends.
func (d *demo) every(ctx context.Context, interval time.Duration, fn func(i int)) {
	d.traffic.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(i)
			}
		}
	})
}

func (d *demo) publishHonest(i int) {
	data := fmt.Sprintf("honest-%d", i)
	if err := d.honest[i%len(d.honest)].topic.Publish(d.ctx, []byte(data)); err == nil {
		d.sentMu.Lock()
		d.sent = append(d.sent, data)
		d.sentMu.Unlock()
	}
}

// spam publishes an invalid message.
func (d *demo) spam(i int) {
	_ = d.spamTo.Publish(d.ctx, []byte(fmt.Sprintf("bad-%d", i)))
}

// lie advertises a message that will never come.
func (d *demo) lie(i int) {
	for _, o := range d.attack[1].observers {
		_ = d.liar.Send(o.h.ID(), rawpeer.IHave(topicName, fmt.Sprintf("never-%d", i)))
	}
}

// worst returns the lowest score an attacker has among the honest nodes
// that see it, and that node's snapshot.
func (a *attacker) worst() (float64, peerscore.Snapshot) {
	first := true
	var low float64
	var lowSnap peerscore.Snapshot
	for _, o := range a.observers {
		snap, ok := o.scorer.Snapshot(a.h.ID())
		if !ok {
			continue
		}
		if first || snap.Score < low {
			low, lowSnap, first = snap.Score, snap, false
		}
	}
	return low, lowSnap
}

// observe records when each attacker first fell below each threshold.
func (d *demo) observe() {
	levels := []struct {
		name  string
		value float64
	}{{"zero", 0}, {"gossip", thresholds.GossipThreshold}, {"publish", thresholds.PublishThreshold}, {"graylist", thresholds.GraylistThreshold}}
	for _, a := range d.attack {
		low, _ := a.worst()
		for _, l := range levels {
			if _, done := a.crossed[l.name]; !done && low < l.value {
				a.crossed[l.name] = time.Since(d.start).Round(100 * time.Millisecond)
			}
		}
	}
}

func (d *demo) table() {
	fmt.Printf("t=%2.0fs\n", time.Since(d.start).Seconds())
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "  peer\trole\tworst score\tbecause of\tbelow")
	for _, a := range d.attack {
		low, snap := a.worst()
		fmt.Fprintf(w, "  %s\t%s\t%.1f\t%s\t%s\n", short(a.h.ID()), a.role, low, blame(snap), band(low))
	}
	low, high := d.honestRange()
	fmt.Fprintf(w, "  %d peers\thonest\t%.1f .. %.1f\t\t%s\n", len(d.honest), low, high, band(low))
	w.Flush()
	fmt.Println()
}

// blame names the component that made a score negative, with its
// contribution, or "-" for a score that is not: a score at or above zero
// has nothing to blame, and the component that explains a tiny positive
// score (a few seconds of P1) would read as blamed for nothing.
func blame(snap peerscore.Snapshot) string {
	if !(snap.Score < 0) {
		return "-"
	}
	comp, value := snap.Dominant()
	if comp == "" {
		return "-"
	}
	return fmt.Sprintf("%s (%.3g)", comp, value)
}

// honestRange is the lowest and highest score honest nodes give each other.
func (d *demo) honestRange() (low, high float64) {
	first := true
	for _, o := range d.honest {
		for _, p := range d.honest {
			if o == p {
				continue
			}
			snap, ok := o.scorer.Snapshot(p.h.ID())
			if !ok {
				continue
			}
			if first {
				low, high, first = snap.Score, snap.Score, false
			}
			low, high = min(low, snap.Score), max(high, snap.Score)
		}
	}
	return low, high
}

func band(score float64) string {
	switch {
	case score < thresholds.GraylistThreshold:
		return "graylist"
	case score < thresholds.PublishThreshold:
		return "publish"
	case score < thresholds.GossipThreshold:
		return "gossip"
	case score < 0:
		return "zero"
	}
	return ""
}

func short(p peer.ID) string {
	s := p.String()
	return "…" + s[len(s)-6:]
}

// verdict prints who fell below what and when, and the honest delivery
// rate; it reports whether every attacker was caught.
func (d *demo) verdict() bool {
	fmt.Println("Verdict")
	caught := true
	for _, a := range d.attack {
		var parts []string
		for _, l := range []string{"zero", "gossip", "publish", "graylist"} {
			if at, ok := a.crossed[l]; ok {
				parts = append(parts, fmt.Sprintf("below %s at %v", l, at))
			}
		}
		_, ok := a.crossed[expected[a.role]]
		status := "caught"
		if !ok {
			status, caught = "NOT CAUGHT (expected below "+expected[a.role]+")", false
		}
		fmt.Printf("  %-8s %-8s %s\n", a.role, status, strings.Join(parts, ", "))
	}

	d.sentMu.Lock()
	sent := append([]string(nil), d.sent...)
	d.sentMu.Unlock()
	sort.Strings(sent)
	var got, want int
	for _, n := range d.honest {
		n.mu.Lock()
		for _, m := range sent {
			want++
			if n.got[m] {
				got++
			}
		}
		n.mu.Unlock()
	}
	rate := 0.0
	if want > 0 {
		rate = float64(got) / float64(want)
	}
	low, _ := d.honestRange()
	fmt.Printf("  honest delivery: %d of %d (%.2f%%) messages reached every honest node; lowest honest score %.1f\n",
		got, want, 100*rate, low)
	if rate < 0.99 || low < 0 {
		caught = false
	}
	return caught
}
