// Command monitor shows peerscore run as an operator would: Prometheus
// metrics and the scorer's JSON views (package scorehttp) served on a
// local port, threshold events logged, a monitor that
// bans a peer whose score falls too low (its connection closed, reconnects
// refused by the gater), and the bad peer's score saved and restored
// across a "restart".
//
// It builds a small network of real go-libp2p hosts on a simulated network
// in this process: an observer, a few honest peers, and one peer that
// publishes invalid messages. It ends by itself.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/scenario"
	"github.com/peerscore/peerscore/internal/testnet"
	"github.com/peerscore/peerscore/metrics"
	"github.com/peerscore/peerscore/scorehttp"
)

const topicName = scenario.Topic

var thresholds = scenario.Thresholds()

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve /metrics and /debug/peerscore/ on")
	hold := flag.Duration("hold", 0, "keep serving this long at the end, to browse the endpoints")
	flag.Parse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	nw := testnet.New(time.Millisecond)
	defer nw.Close()
	gater := ban.NewGater() // before the host, before the scorer
	observer := must(nw.AddHost(testnet.PublicIP(1), 8000, libp2p.ConnectionGater(gater)))
	var honest []host.Host
	for i := 0; i < 4; i++ {
		honest = append(honest, must(nw.AddHost(testnet.PublicIP(i+2), 8000)))
	}
	spammer := must(nw.AddHost("66.66.66.66", 8000))
	nw.Start()

	// The observer: scorer, router, metrics, threshold events, monitor.
	scorer := must(peerscore.New(scenario.Params(), peerscore.WithHost(observer), peerscore.WithThresholds(thresholds),
		peerscore.WithThresholdEvents(func(e peerscore.ThresholdEvent) {
			dir := "rose to"
			if e.Down {
				dir = "fell below"
			}
			fmt.Printf("event    %s %s %s (%.0f): score %.1f -> %.1f, because of %s\n",
				short(e.Peer), dir, e.Threshold, e.Level, e.Old, e.New, e.Reason)
		})))
	scorer.Start(ctx)
	defer scorer.Close()
	router := must(pubsub.NewGossipSub(ctx, observer, must(scorer.GossipSubOptions())...))
	if err := router.RegisterTopicValidator(topicName, scenario.RejectBad); err != nil {
		log.Fatal(err)
	}
	must(must(router.Join(topicName)).Subscribe())

	reg := prometheus.NewRegistry()
	reg.MustRegister(must(metrics.New(scorer, metrics.WithGater(gater))))
	views := must(scorehttp.NewHandler(scorer, scorehttp.WithGater(gater)))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/debug/peerscore/", http.StripPrefix("/debug/peerscore", views))
	ln := must(net.Listen("tcp", *listen))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Printf("metrics  http://%s/metrics\n", ln.Addr())
	fmt.Printf("views    http://%s/debug/peerscore/scores (and /peers/{id}, /bans, /stats, /params)\n", ln.Addr())

	// Without WithMinScore, the minimum is the scorer's GraylistThreshold.
	monitor := must(ban.NewMonitor(observer, scorer, gater,
		ban.WithBanForRetainScore(scenario.Params().RetainScore),
		ban.WithCheckInterval(2*time.Second),
		ban.WithOnBan(func(p peer.ID, score float64, until time.Time) {
			fmt.Printf("ban      %s at score %.1f until %s; connection closed\n", short(p), score, until.Format(time.TimeOnly))
		})))
	monitor.Start(ctx)
	defer monitor.Close()

	// The rest of the network: honest routers and the spammer.
	var topics []*pubsub.Topic
	for _, h := range append(honest, spammer) {
		ps := must(pubsub.NewGossipSub(ctx, h))
		t := must(ps.Join(topicName))
		must(t.Subscribe())
		topics = append(topics, t)
		if err := testnet.Connect(ctx, h, observer); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("network  observer %s, %d honest peers, spammer %s\n\n", short(observer.ID()), len(honest), short(spammer.ID()))
	time.Sleep(2 * time.Second)

	for i := 0; i < 20; i++ {
		_ = topics[i%len(honest)].Publish(ctx, []byte(fmt.Sprintf("honest-%d", i)))
		if i == 5 {
			_ = topics[len(honest)].Publish(ctx, []byte("bad-1"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)

	_ = testnet.Connect(ctx, spammer, observer) // the gater turns it away
	time.Sleep(500 * time.Millisecond)
	fmt.Printf("redial   spammer dials the observer while banned: connected=%v\n",
		observer.Network().Connectedness(spammer.ID()) == network.Connected)

	fmt.Println("\nscrape   (selected lines)")
	scrape(ln.Addr().String(), "peerscore_peers{", "peerscore_penalties_total{reason=\"invalid_message\"}",
		"peerscore_component_contribution{component=\"p4\"}", "peerscore_peers_retained", "peerscore_bans")
	showViews(ln.Addr().String(), spammer.ID())

	restart(scorer, spammer.ID())
	if *hold > 0 {
		fmt.Printf("\nserving on http://%s for %s\n", ln.Addr(), *hold)
		time.Sleep(*hold)
	}
}

func scrape(addr string, prefixes ...string) {
	resp := must(http.Get("http://" + addr + "/metrics"))
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		for _, p := range prefixes {
			if strings.HasPrefix(sc.Text(), p) {
				fmt.Println("  " + sc.Text())
			}
		}
	}
}

// showViews reads the scorer's JSON views as an operator would: the worst
// peers, the banned ones, and the spammer's score taken apart.
func showViews(addr string, spammer peer.ID) {
	base := "http://" + addr + "/debug/peerscore"
	var scores struct {
		Data  []scorehttp.ScoreEntry
		Total int
	}
	getJSON(base+"/scores?limit=3", &scores)
	fmt.Printf("\nviews    GET /debug/peerscore/scores?limit=3 (worst first, %d peers known)\n", scores.Total)
	for _, e := range scores.Data {
		fmt.Printf("  %s score %7.1f connected=%-5v %s\n", short(e.Peer), e.Score, e.Connected, e.Dominant)
	}
	var bans struct{ Data []ban.Entry }
	getJSON(base+"/bans", &bans)
	fmt.Printf("         GET /debug/peerscore/bans: %d banned\n", len(bans.Data))
	var snap struct {
		Data struct {
			Score  float64
			Topics map[string]struct {
				InvalidMessageDeliveries float64 `json:"invalid_message_deliveries"`
			}
			BannedUntil time.Time `json:"banned_until"`
		}
	}
	getJSON(base+"/peers/"+spammer.String(), &snap)
	fmt.Printf("         GET /debug/peerscore/peers/%s: score %.1f, %.0f invalid messages, banned until %s\n",
		short(spammer), snap.Data.Score, snap.Data.Topics[topicName].InvalidMessageDeliveries, snap.Data.BannedUntil.Format(time.TimeOnly))
}

func getJSON(url string, v any) {
	resp := must(http.Get(url))
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		log.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		log.Fatalf("GET %s: %v", url, err)
	}
}

// restart saves the scorer's retained scores, as a node does on shutdown,
// and loads them into a new scorer, as it does at start.
func restart(old *peerscore.Scorer, bad peer.ID) {
	dir := must(os.MkdirTemp("", "peerscore-monitor-"))
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "scores")
	if err := old.SaveFile(path); err != nil {
		log.Fatal(err)
	}
	fresh := must(peerscore.New(scenario.Params()))
	// A damaged file is moved aside and a missing one is a first start:
	// either way the node starts, without the saved scores.
	if err := fresh.LoadFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Printf("starting without saved peer scores: %v", err)
	}
	snap, ok := fresh.Snapshot(bad)
	fmt.Printf("\nrestart  saved to %s and loaded into a new scorer: spammer known=%v score %.1f retained until %s\n",
		filepath.Base(path), ok, snap.Score, snap.RetainedUntil.Format(time.TimeOnly))
}

func short(p peer.ID) string {
	s := p.String()
	return "…" + s[len(s)-6:]
}
